import { percentOf, type Amount } from './money.js'

/** A goal's payout terms: amounts for `fixed`, percentages (0-100) of the advertiser's `sum` for `percent`. */
export interface GoalTerms {
  type: 'fixed' | 'percent'
  revenue: Amount
  payout: Amount
}

export interface ConversionAmounts {
  revenue: Amount
  payout: Amount
}

/**
 * What a conversion on this goal earns: fixed goals copy their amounts, percent goals take their share of
 * `sum` rounded half-up to 4 decimals. `null` when a percent goal has no sum to take a share of.
 */
export function conversionAmounts (goal: GoalTerms, sum: Amount | null): ConversionAmounts | null {
  if (goal.type === 'fixed') return { revenue: goal.revenue, payout: goal.payout }
  if (sum === null) return null
  return { revenue: percentOf(sum, goal.revenue), payout: percentOf(sum, goal.payout) }
}
