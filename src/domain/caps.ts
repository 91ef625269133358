// Caps and the click session of an offer (contract §4.4): pure rules, no I/O.
import { addAmounts, AMOUNT_SCALE, parseAmount, type Amount } from './money.js'

export type CapMetric = 'clicks' | 'conversions' | 'payout'
export type CapPeriod = 'day' | 'week' | 'month' | 'total'

export const CAP_METRICS: readonly CapMetric[] = ['clicks', 'conversions', 'payout']
export const CAP_PERIODS: readonly CapPeriod[] = ['day', 'week', 'month', 'total']
export const MAX_CAPS = 20

export const CAP_IS_REACHED = 'Cap is reached'
export const SESSION_EXPIRED = 'Session lifespan expired'
export const DECLINED_BY_ADVERTISER = 'Declined via advertiser\'s postback'
export const REJECTED_BY_MANAGER = 'Rejected by a manager'
export const DECLINE_REASONS = [CAP_IS_REACHED, SESSION_EXPIRED, DECLINED_BY_ADVERTISER, REJECTED_BY_MANAGER] as const
export type DeclineReason = (typeof DECLINE_REASONS)[number]

/** A cap as stored on the offer; `limit` is a count for clicks and conversions, an exact amount for payout. */
export interface Cap {
  metric: CapMetric
  period: CapPeriod
  limit: Amount
  per_affiliate: boolean
  affiliate_id: number | null
  goal: string | null
}

/** Caps as the offer row stores them (JSON, limits as numbers) → exact limits; a limit that is no amount caps at 0. */
export function capsFromStored (stored: readonly (Omit<Cap, 'limit'> & { limit: number })[]): Cap[] {
  return stored.map((cap) => ({ ...cap, limit: parseAmount(cap.limit) ?? 0n }))
}

/** The start of a `total` period: every counter key has a start, and the offer's whole life has this one. */
export const TOTAL_PERIOD_START = new Date(0)

const DAY_MS = 86_400_000

/** The UTC period `now` falls in: days, ISO weeks (Monday first) and months; `total` has no end. */
export function capPeriod (period: CapPeriod, now: Date): { start: Date; end: Date | null } {
  const y = now.getUTCFullYear()
  const m = now.getUTCMonth()
  const day = Date.UTC(y, m, now.getUTCDate())
  switch (period) {
    case 'day':
      return { start: new Date(day), end: new Date(day + DAY_MS) }
    case 'week': {
      const sinceMonday = (now.getUTCDay() + 6) % 7
      const start = day - sinceMonday * DAY_MS
      return { start: new Date(start), end: new Date(start + 7 * DAY_MS) }
    }
    case 'month':
      return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) }
    case 'total':
      return { start: TOTAL_PERIOD_START, end: null }
  }
}

/**
 * What one counter counts: the offer's traffic of one metric in one period, narrowed to a goal (lowercase,
 * '' for every goal) and to one affiliate (0 for all together). A single-affiliate cap and a per-affiliate cap
 * count that affiliate's traffic in the same counter; a changed limit keeps what was counted.
 */
export interface CounterKey {
  metric: CapMetric
  period: CapPeriod
  goal: string
  affiliateId: number
  periodStart: Date
}

export function counterKeyText (key: CounterKey): string {
  return `${key.metric}|${key.period}|${key.goal}|${key.affiliateId}|${key.periodStart.getTime()}`
}

/** Whether the cap counts this affiliate's traffic (on this goal, for conversions and payout). */
export function capApplies (cap: Cap, affiliateId: number, goal: string | null): boolean {
  if (cap.affiliate_id !== null && cap.affiliate_id !== affiliateId) return false
  if (cap.goal !== null && (goal === null || cap.goal.toLowerCase() !== goal.toLowerCase())) return false
  return true
}

export function counterKey (cap: Cap, affiliateId: number, now: Date): CounterKey {
  return {
    metric: cap.metric,
    period: cap.period,
    goal: cap.goal === null ? '' : cap.goal.toLowerCase(),
    affiliateId: cap.per_affiliate || cap.affiliate_id !== null ? affiliateId : 0,
    periodStart: capPeriod(cap.period, now).start,
  }
}

/** What a conversion adds to a counter of this metric: one conversion, or its payout. */
export function conversionIncrement (metric: CapMetric, payout: Amount): Amount {
  return metric === 'payout' ? payout : AMOUNT_SCALE
}

export interface ConversionToJudge {
  affiliateId: number
  goal: string
  payout: Amount
}

export interface ConversionJudgement {
  /** True when counting it would pass a conversions or payout cap: it is created declined, `Cap is reached`. */
  reached: boolean
  /** The counters it adds to when it counts (empty when reached). */
  increments: { key: CounterKey; amount: Amount }[]
}

/** The counters a conversion of this affiliate and goal would touch, one per applicable conversions/payout cap. */
export function conversionCounterKeys (caps: readonly Cap[], conversion: Omit<ConversionToJudge, 'payout'>, now: Date): CounterKey[] {
  return caps
    .filter((cap) => cap.metric !== 'clicks' && capApplies(cap, conversion.affiliateId, conversion.goal))
    .map((cap) => counterKey(cap, conversion.affiliateId, now))
}

/**
 * Judges a new conversion against the offer's conversions and payout caps, given what each counter holds
 * (`used`, by counterKeyText; absent means 0). A conversion passes a cap when the counter plus its increment
 * would exceed the limit: the last unit of a cap is taken, never more. A payout of 0 never passes a payout cap.
 */
export function judgeConversion (
  caps: readonly Cap[], used: ReadonlyMap<string, Amount>, conversion: ConversionToJudge, now: Date
): ConversionJudgement {
  const increments: { key: CounterKey; amount: Amount }[] = []
  for (const cap of caps) {
    if (cap.metric === 'clicks' || !capApplies(cap, conversion.affiliateId, conversion.goal)) continue
    const key = counterKey(cap, conversion.affiliateId, now)
    const amount = conversionIncrement(cap.metric, conversion.payout)
    const after = addAmounts(used.get(counterKeyText(key)) ?? 0n, amount)
    if (after > cap.limit) return { reached: true, increments: [] }
    // Two caps may share a counter (an affiliate's own cap and a per-affiliate one): it is counted once.
    if (!increments.some((inc) => counterKeyText(inc.key) === counterKeyText(key))) increments.push({ key, amount })
  }
  return { reached: false, increments }
}

/** A clicks cap as the click path reads it: the limit as a plain count, compared without BigInt per click. */
export interface ClickCap extends Cap {
  clicks: number
}

/** The offer's clicks caps, ready for the click path. */
export function clickCapsOf (caps: readonly Cap[]): ClickCap[] {
  return caps.filter((cap) => cap.metric === 'clicks').map((cap) => ({ ...cap, clicks: Number(cap.limit / AMOUNT_SCALE) }))
}

/** `used` and `remaining` of a cap, `remaining` never below 0. */
export function capUsage (cap: Cap, used: Amount): { used: Amount; remaining: Amount } {
  return { used, remaining: used >= cap.limit ? 0n : cap.limit - used }
}

const CLICK_SESSION = /^([1-9][0-9]{0,5})([hd])$/
export const MIN_CLICK_SESSION_S = 3600
export const MAX_CLICK_SESSION_S = 365 * 86_400
export const DEFAULT_CLICK_SESSION = '365d'

/** Seconds of a click session (`12h`, `30d`), or null when malformed or outside 1h..365d. */
export function clickSessionSeconds (text: string): number | null {
  const match = CLICK_SESSION.exec(text)
  if (match === null) return null
  const seconds = Number(match[1]) * (match[2] === 'h' ? 3600 : 86_400)
  return seconds >= MIN_CLICK_SESSION_S && seconds <= MAX_CLICK_SESSION_S ? seconds : null
}

/** A conversion now, for a click made at `clickTime`, comes after the click session: it is declined. */
export function sessionExpired (clickTime: Date, sessionSeconds: number, now: Date): boolean {
  return now.getTime() - clickTime.getTime() > sessionSeconds * 1000
}
