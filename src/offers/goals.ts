import { formatAmountDb, parseAmount, parsePercent } from '../domain/money.js'
import { invalidInput, ruleViolation } from '../domain/errors.js'
import type { GoalValues } from './repository.js'
import type { OfferGoalInput } from './schemas.js'

/** What an offer created without goals gets (contract §2). */
export const DEFAULT_GOAL: GoalValues = { value: '1', title: 'Default', type: 'fixed', revenue: '0.0000', payout: '0.0000' }

function exact (goal: OfferGoalInput, field: 'revenue' | 'payout', path: string): string {
  const raw = goal[field]
  if (goal.type === 'percent') {
    const percent = parsePercent(raw)
    if (percent === null) throw invalidInput(`${field} of a percent goal must be a percentage from 0 to 100 with at most 4 decimals`, path)
    return formatAmountDb(percent)
  }
  const amount = parseAmount(raw)
  if (amount === null) throw invalidInput(`${field} must be an amount with at most 4 decimals`, path)
  return formatAmountDb(amount)
}

/**
 * Turns validated JSON goals into exact table values: more than 4 decimals or a percentage above 100 is 400,
 * a value repeated ignoring case is 422. `basePath` is the JSON Pointer of the goals array.
 */
export function parseGoals (goals: OfferGoalInput[], basePath = '/goals'): GoalValues[] {
  const parsed = goals.map((goal, index) => ({
    value: goal.value,
    title: goal.title ?? goal.value,
    type: goal.type,
    revenue: exact(goal, 'revenue', `${basePath}/${index}/revenue`),
    payout: exact(goal, 'payout', `${basePath}/${index}/payout`),
  }))
  const seen = new Map<string, number>()
  parsed.forEach((goal, index) => {
    const key = goal.value.toLowerCase()
    const earlier = seen.get(key)
    if (earlier !== undefined) {
      throw ruleViolation(
        `Goal value ${goal.value} repeats goal ${earlier} (values are unique per offer ignoring case)`,
        `${basePath}/${index}/value`
      )
    }
    seen.set(key, index)
  })
  return parsed
}

/** Goal values named by postbacks that `goals` would no longer contain (compared ignoring case). */
export function goalsLeftBehind (named: string[], goals: GoalValues[]): string[] {
  const kept = new Set(goals.map((goal) => goal.value.toLowerCase()))
  return named.filter((value) => !kept.has(value.toLowerCase()))
}
