import type { FromSchema } from 'json-schema-to-ts'
import { AMOUNT_SCALE, amountToJson, parseAmount } from '../domain/money.js'
import { clickSessionSeconds } from '../domain/caps.js'
import type { StoredCap } from '../db/tables.js'
import { invalidInput, ruleViolation } from '../domain/errors.js'
import type { offerCapInputSchema } from './schemas.js'

/** A cap as the API takes it (defaults applied by the schema). */
export type CapInput = FromSchema<typeof offerCapInputSchema>

/** The largest count a clicks or conversions cap takes: beyond it a limit is a typo, not a budget. */
export const MAX_COUNT_LIMIT = 1_000_000_000

/**
 * Validates caps against the offer's goals (values, compared ignoring case): a limit that is not a whole
 * count (clicks, conversions) or an amount with at most 4 decimals (payout) is 400; a cap that is not
 * positive, a goal on a clicks cap (clicks have no goal), an unknown goal, or both `per_affiliate` and
 * `affiliate_id` is 422. Unknown affiliates are judged by the caller (a database question).
 */
export function parseCaps (caps: readonly CapInput[], goals: readonly string[], basePath = '/caps'): StoredCap[] {
  const known = new Set(goals.map((goal) => goal.toLowerCase()))
  return caps.map((cap, index) => {
    const path = `${basePath}/${index}`
    const limit = parseAmount(cap.limit)
    if (limit === null) throw invalidInput('limit must be a non-negative number with at most 4 decimals', `${path}/limit`)
    if (cap.metric !== 'payout' && (limit % AMOUNT_SCALE !== 0n || limit > BigInt(MAX_COUNT_LIMIT) * AMOUNT_SCALE)) {
      throw invalidInput(`limit of a ${cap.metric} cap must be a whole number up to ${MAX_COUNT_LIMIT}`, `${path}/limit`)
    }
    if (limit === 0n) throw ruleViolation('limit must be above 0 (stop or pause the offer to take no traffic)', `${path}/limit`)
    if (cap.goal !== null && cap.metric === 'clicks') throw ruleViolation('A clicks cap has no goal: clicks have none', `${path}/goal`)
    if (cap.goal !== null && !known.has(cap.goal.toLowerCase())) throw ruleViolation(`Goal ${cap.goal} is not a goal of this offer`, `${path}/goal`)
    if (cap.per_affiliate && cap.affiliate_id !== null) {
      throw ruleViolation('per_affiliate counts every affiliate separately; affiliate_id names one: set one of them', `${path}/affiliate_id`)
    }
    return {
      metric: cap.metric,
      period: cap.period,
      limit: amountToJson(limit),
      per_affiliate: cap.per_affiliate,
      affiliate_id: cap.affiliate_id,
      goal: cap.goal,
    }
  })
}

/** The caps that name a goal no longer among `goals` (a goal replacement would leave them behind). */
export function capsNamingMissingGoals (caps: readonly StoredCap[], goals: readonly string[]): string[] {
  const known = new Set(goals.map((goal) => goal.toLowerCase()))
  return caps.flatMap((cap) => (cap.goal !== null && !known.has(cap.goal.toLowerCase()) ? [cap.goal] : []))
}

/**
 * `click_session` in range (1h..365d), else 400 naming the field; and no longer than clicks are kept
 * (CLICK_RETENTION_DAYS), else 422: a conversion within its session must still find its click.
 */
export function checkClickSession (value: string | undefined, clickRetentionDays: number): void {
  if (value === undefined) return
  const seconds = clickSessionSeconds(value)
  if (seconds === null) throw invalidInput('click_session must be hours (`12h`) or days (`30d`) from 1h to 365d', '/click_session')
  if (seconds > clickRetentionDays * 86_400) {
    throw ruleViolation(`click_session ${value} is longer than clicks are kept (CLICK_RETENTION_DAYS ${clickRetentionDays}): ` +
      'conversions within it would find no click', '/click_session')
  }
}
