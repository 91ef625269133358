import { knownTimeZone, localDate, startOfLocalDay, wallToInstant } from '../domain/time-periods.js'
import { invalidInput, ruleViolation } from '../domain/errors.js'

export const MAX_DAYS = 400
const DAY_MS = 86_400_000
/** A span of 400 calendar days may hold DST days of 25 hours. */
const MAX_SPAN_MS = MAX_DAYS * DAY_MS + 2 * 3_600_000

export interface ReportPeriod {
  zone: string
  /** First instant counted (ms). */
  from: number
  /** First instant no longer counted (ms). */
  to: number
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/i

function validDate (y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d))
  return y >= 1970 && y <= 9999 && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/**
 * One end of the period: a date is the start of that day in the zone (`to` takes in the whole day, so its end is
 * the next day's start); a time with `Z` or an offset is that instant; a time without one is a wall-clock time of
 * the zone.
 */
function parseEnd (text: string, zone: string, end: 'from' | 'to'): number {
  const path = `/${end}`
  const date = DATE.exec(text)
  if (date !== null) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])]
    if (!validDate(y, m, d)) throw invalidInput(`${end}: ${text} is not a calendar date`, path)
    if (end === 'from') return startOfLocalDay(zone, text)
    const next = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)
    return startOfLocalDay(zone, next)
  }
  const time = TIME.exec(text)
  if (time === null) throw invalidInput(`${end}: a date (2026-11-30) or an ISO 8601 time (2026-11-30T18:00:00Z)`, path)
  const [y, m, d, h, min, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(time[i] ?? 0)) as [number, number, number, number, number, number]
  if (!validDate(y, m, d) || h > 23 || min > 59 || s > 59) throw invalidInput(`${end}: ${text} is not a valid time`, path)
  const millis = Number(((time[7] ?? '') + '000').slice(0, 3))
  const wall = Date.UTC(y, m - 1, d, h, min, s, millis)
  const offset = time[8]
  if (offset === undefined) return wallToInstant(zone, wall)
  if (offset.toUpperCase() === 'Z') return wall
  const sign = offset.startsWith('-') ? -1 : 1
  const [oh, om] = offset.slice(1).split(':').map(Number) as [number, number]
  if (oh > 23 || om > 59) throw invalidInput(`${end}: ${text} has an invalid offset`, path)
  return wall - sign * (oh * 60 + om) * 60_000
}

/** The zone, from and to of a report; each end defaults to today in the zone. */
export function parsePeriod (query: { from?: string | undefined; to?: string | undefined; timezone?: string | undefined }, now: number): ReportPeriod {
  const zone = knownTimeZone(query.timezone ?? 'UTC')
  if (zone === null) throw invalidInput(`timezone: unknown time zone "${query.timezone}"; an IANA name such as Europe/Berlin or Asia/Kolkata`, '/timezone')
  const today = localDate(zone, now)
  const from = parseEnd(query.from ?? today, zone, 'from')
  const to = parseEnd(query.to ?? today, zone, 'to')
  const datesBackwards = DATE.test(query.from ?? today) && DATE.test(query.to ?? today) && (query.to ?? today) < (query.from ?? today)
  if (to < from || datesBackwards) throw ruleViolation('to is before from', '/to')
  if (to - from > MAX_SPAN_MS) throw ruleViolation(`The period is longer than ${MAX_DAYS} days`, '/to')
  return { zone, from, to }
}
