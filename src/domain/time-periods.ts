/**
 * Calendar periods of any IANA time zone as UTC instants, for reports: where a zone's hours, days, ISO weeks and
 * months begin and end. Built on the runtime's time zone data (Intl), so the database needs none. Every offset in
 * use and every instant at which one changes is a multiple of 15 minutes, so every boundary lies on the UTC
 * quarter-hour grid: a day of a +05:45 zone starts at 18:15 UTC, a DST day lasts 23 or 25 hours.
 */

export type TimeUnit = 'hour' | 'day' | 'week' | 'month'

export const QUARTER_MS = 15 * 60_000

/** The start of the 15-minute UTC bucket that holds `ms` (the rollups' buckets). */
export const startOfQuarter = (ms: number) => Math.floor(ms / QUARTER_MS) * QUARTER_MS
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter (zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone)
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
    // Names are matched ignoring case, so spellings are unbounded: the cache is too.
    if (formatters.size >= 1000) formatters.clear()
    formatters.set(zone, format)
  }
  return format
}

/**
 * The zone name as given when the runtime knows it as an IANA zone (case ignored), else null. The name is kept:
 * the runtime would rename some (Asia/Kolkata to Asia/Calcutta).
 */
export function knownTimeZone (name: string): string | null {
  // Offsets like "+05:30" and abbreviations are not IANA names, though Intl accepts some of them.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return null
  try {
    formatter(name)
    return name
  } catch {
    return null
  }
}

/** The zone's offset from UTC at an instant, in minutes (+330 for Asia/Kolkata). */
export function offsetMinutes (zone: string, ms: number): number {
  const at = Math.floor(ms / 1000) * 1000
  const parts: Record<string, number> = {}
  for (const part of formatter(zone).formatToParts(new Date(at))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  const wall = Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day as number, parts.hour as number, parts.minute as number, parts.second as number)
  return Math.round((wall - at) / 60_000)
}

/**
 * The instant at which a wall-clock time of the zone (given as if it were UTC) happens. An ambiguous time (the
 * repeated hour of a DST end) is its first occurrence; a time that does not exist (skipped by a DST start) is
 * the instant the clocks jumped past it by as much, as a wall clock reads it after the change.
 */
export function wallToInstant (zone: string, wall: number): number {
  const candidates = new Set([offsetMinutes(zone, wall - DAY_MS), offsetMinutes(zone, wall), offsetMinutes(zone, wall + DAY_MS)])
  let best: number | undefined
  for (const offset of candidates) {
    const instant = wall - offset * 60_000
    if (offsetMinutes(zone, instant) === offset && (best === undefined || instant < best)) best = instant
  }
  return best ?? wall - offsetMinutes(zone, wall - DAY_MS) * 60_000
}

/** The wall-clock reading of an instant, as a UTC timestamp (read its fields with getUTC*). */
export function instantToWall (zone: string, ms: number): number {
  return ms + offsetMinutes(zone, ms) * 60_000
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

function dateLabel (wall: number): string {
  const d = new Date(wall)
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

/** The local date (YYYY-MM-DD) of an instant in the zone. */
export function localDate (zone: string, ms: number): string {
  return dateLabel(instantToWall(zone, ms))
}

/** The instant a local date's day begins (its midnight, or the first instant after a skipped one). */
export function startOfLocalDay (zone: string, date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  return wallToInstant(zone, Date.UTC(y, m - 1, d))
}

/** The label of the period holding a wall-clock time; `offset` (minutes) marks hours, so a repeated hour has two. */
export function periodLabel (unit: TimeUnit, wall: number, offset: number): string {
  const d = new Date(wall)
  switch (unit) {
    case 'hour': {
      const sign = offset < 0 ? '-' : '+'
      const abs = Math.abs(offset)
      return `${dateLabel(wall)}T${pad(d.getUTCHours())}:00:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
    }
    case 'day': return dateLabel(wall)
    // ISO weeks begin on Monday; a week is named by its Monday's date.
    case 'week': return dateLabel(wall - ((d.getUTCDay() + 6) % 7) * DAY_MS)
    case 'month': return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}`
  }
}

export interface Periods {
  /** Each period's first instant (ms), ascending; the first is the start of the range. */
  starts: number[]
  /** Each period's name, as the report shows it. */
  labels: string[]
}

/** The periods of several units at once: the range cut at every boundary of any of them. */
export interface Timeline {
  /** Each piece's first instant (ms), ascending; the first is the start of the range. */
  starts: number[]
  /** Per unit: its periods' names, and for each piece the index of the period it lies in. */
  units: Map<TimeUnit, { labels: string[]; periodOfPiece: number[] }>
}

/**
 * `group_by=month,day` or `week,month`: every unit's periods of [from, to) (see periodsBetween), and the pieces
 * between all their boundaries together. Periods are intervals, so each piece lies in one period of every unit
 * and no two pieces lie in the same periods of all of them: a piece is a row's time key.
 */
export function timelineBetween (zone: string, units: readonly TimeUnit[], from: number, to: number): Timeline {
  const byUnit = units.map((unit) => [unit, periodsBetween(zone, unit, from, to)] as const)
  const starts = [...new Set(byUnit.flatMap(([, periods]) => periods.starts))].sort((a, b) => a - b)
  const timeline: Timeline = { starts, units: new Map() }
  for (const [unit, periods] of byUnit) {
    const periodOfPiece: number[] = []
    let period = 0
    for (const start of starts) {
      while (period + 1 < periods.starts.length && (periods.starts[period + 1] as number) <= start) period++
      periodOfPiece.push(period)
    }
    timeline.units.set(unit, { labels: periods.labels, periodOfPiece })
  }
  return timeline
}

/**
 * The periods of `unit` that [from, to) touches, cut to the range: each starts at a boundary of the zone's
 * calendar (or at `from`). The zone's offset is read once per UTC hour, and per quarter only in an hour where it
 * changes.
 */
export function periodsBetween (zone: string, unit: TimeUnit, from: number, to: number): Periods {
  const starts = [from]
  const fromOffset = offsetMinutes(zone, from)
  const labels = [periodLabel(unit, from + fromOffset * 60_000, fromOffset)]
  let hour = Math.floor(from / HOUR_MS) * HOUR_MS
  let hourOffset = offsetMinutes(zone, hour)
  // Reading an offset costs an Intl call: a span of a day whose ends share an offset has it throughout (zones
  // change offset at most twice a year), so its hours are not asked one by one.
  let steadyUntil = hour
  for (; hour < to; hour += HOUR_MS) {
    if (hour >= steadyUntil && offsetMinutes(zone, hour + DAY_MS) === hourOffset) steadyUntil = hour + DAY_MS
    const nextOffset = hour + HOUR_MS <= steadyUntil ? hourOffset : offsetMinutes(zone, hour + HOUR_MS)
    for (let q = hour; q < hour + HOUR_MS; q += QUARTER_MS) {
      if (q <= from || q >= to) continue
      const offset = nextOffset === hourOffset ? hourOffset : offsetMinutes(zone, q)
      const label = periodLabel(unit, q + offset * 60_000, offset)
      if (label !== labels[labels.length - 1]) {
        starts.push(q)
        labels.push(label)
      }
    }
    hourOffset = nextOffset
  }
  return { starts, labels }
}
