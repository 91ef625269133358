// The retry policy of postback deliveries: a schedule of waits, each with ±10% jitter so deliveries
// that failed together (a receiver's outage) do not all come back in the same second.
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION = /^(\d+)(ms|s|m|h|d)$/
const JITTER = 0.1

export const DEFAULT_RETRY_SCHEDULE = '10s,1m,5m,30m,2h,6h'

/** `500ms`, `10s`, `1m`, `2h`, `7d` → milliseconds; a unit is required, so `10` is not a guess. */
export function parseDuration (s: string): number | null {
  const match = DURATION.exec(s)
  if (match === null) return null
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number)
  return Number.isSafeInteger(ms) ? ms : null
}

/** Comma-separated durations; empty means a single attempt and no retries. */
export function parseRetrySchedule (s: string): number[] | null {
  if (s.trim() === '') return []
  const out: number[] = []
  for (const part of s.split(',')) {
    const ms = parseDuration(part.trim())
    if (ms === null) return null
    out.push(ms)
  }
  return out
}

/** Attempts a delivery gets in all: the first, then one per scheduled wait. */
export function maxAttempts (schedule: readonly number[]): number {
  return schedule.length + 1
}

/**
 * The wait before the next attempt once `attemptsMade` attempts failed (after the 1st, schedule[0]),
 * or null when none is left. Before any attempt there is nothing to wait for.
 */
export function retryDelayMs (
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number = Math.random
): number | null {
  if (!Number.isInteger(attemptsMade)) throw new RangeError(`attemptsMade must be an integer, got ${attemptsMade}`)
  if (attemptsMade < 1) return 0
  const base = schedule[attemptsMade - 1]
  if (base === undefined) return null
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()))
}

/** Longer than any real HTTP-date or delta: `Retry-After` values beyond this are garbage, not a wait. */
const MAX_DELTA_DIGITS = 10
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/
const RFC850_DATE = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/

/**
 * `Retry-After` (RFC 9110 §10.2.3) as a wait in milliseconds from `now`: delta-seconds, or an HTTP-date (a date
 * already past waits 0). Garbage, several values or none: null, and the schedule alone decides.
 */
export function parseRetryAfter (value: string | string[] | undefined, now: number): number | null {
  if (typeof value !== 'string') return null
  const text = value.trim()
  if (/^\d+$/.test(text)) return text.length > MAX_DELTA_DIGITS ? null : Number(text) * 1000
  // The three HTTP-date forms only: Date.parse alone accepts far looser text ("1", "2026", "tomorrow 5").
  let at: number
  if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) at = Date.parse(text)
  else if (ASCTIME_DATE.test(text)) at = Date.parse(`${text} GMT`)
  else return null
  if (Number.isNaN(at)) return null
  return Math.max(0, at - now)
}

/** The longest wait a receiver may impose (§5.7): the schedule's last, longest wait; none without a schedule. */
export function retryAfterCapMs (schedule: readonly number[]): number {
  return schedule.reduce((longest, wait) => Math.max(longest, wait), 0)
}
