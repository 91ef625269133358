import t from 'tap'
import { knownTimeZone, offsetMinutes, periodsBetween, startOfLocalDay, timelineBetween, wallToInstant } from '../../src/domain/time-periods.js'

const iso = (ms: number) => new Date(ms).toISOString()
const HOUR = 3_600_000

t.test('a day starts at local midnight, whatever the offset', async (t) => {
  const cases: [zone: string, date: string, start: string, hours: number][] = [
    ['UTC', '2026-11-30', '2026-11-30T00:00:00.000Z', 24],
    ['Asia/Kolkata', '2026-11-30', '2026-11-29T18:30:00.000Z', 24],
    ['Asia/Kathmandu', '2026-11-30', '2026-11-29T18:15:00.000Z', 24],
    ['Pacific/Chatham', '2026-07-01', '2026-06-30T11:15:00.000Z', 24],
    ['America/New_York', '2026-11-30', '2026-11-30T05:00:00.000Z', 24],
    // DST starts: a 23-hour day; ends: a 25-hour day.
    ['Europe/Berlin', '2026-03-29', '2026-03-28T23:00:00.000Z', 23],
    ['Europe/Berlin', '2026-10-25', '2026-10-24T22:00:00.000Z', 25],
    ['America/New_York', '2026-03-08', '2026-03-08T05:00:00.000Z', 23],
    ['America/New_York', '2026-11-01', '2026-11-01T04:00:00.000Z', 25],
    // Lord Howe moves by half an hour.
    ['Australia/Lord_Howe', '2026-10-04', '2026-10-03T13:30:00.000Z', 23.5],
    // Santiago skips midnight: the day starts at 01:00.
    ['America/Santiago', '2026-09-06', '2026-09-06T04:00:00.000Z', 23],
  ]
  for (const [zone, date, start, hours] of cases) {
    const from = startOfLocalDay(zone, date)
    const next = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    t.equal(iso(from), start, `${zone} ${date} starts`)
    t.equal((startOfLocalDay(zone, next) - from) / HOUR, hours, `${zone} ${date} lasts ${hours} h`)
  }
})

t.test('hours of a DST day are named with their offset, so the repeated hour appears twice', async (t) => {
  const zone = 'Europe/Berlin'
  const end = periodsBetween(zone, 'hour', startOfLocalDay(zone, '2026-10-25'), startOfLocalDay(zone, '2026-10-26'))
  t.equal(end.labels.length, 25)
  t.same(end.labels.slice(0, 5), [
    '2026-10-25T00:00:00+02:00', '2026-10-25T01:00:00+02:00', '2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00', '2026-10-25T03:00:00+01:00',
  ])
  const start = periodsBetween(zone, 'hour', startOfLocalDay(zone, '2026-03-29'), startOfLocalDay(zone, '2026-03-30'))
  t.equal(start.labels.length, 23)
  t.same(start.labels.slice(1, 3), ['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00'])
  t.equal(iso(start.starts[2] as number), '2026-03-29T01:00:00.000Z')
})

t.test('periods of days, weeks and months in a half-hour zone', async (t) => {
  const zone = 'Asia/Kolkata'
  const from = startOfLocalDay(zone, '2026-11-28')
  const to = startOfLocalDay(zone, '2026-12-03')
  const days = periodsBetween(zone, 'day', from, to)
  t.same(days.labels, ['2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02'])
  t.same(days.starts.map(iso), ['2026-11-27T18:30:00.000Z', '2026-11-28T18:30:00.000Z', '2026-11-29T18:30:00.000Z', '2026-11-30T18:30:00.000Z', '2026-12-01T18:30:00.000Z'])
  t.same(periodsBetween(zone, 'week', from, to).labels, ['2026-11-23', '2026-11-30'])
  t.same(periodsBetween(zone, 'month', from, to).labels, ['2026-11', '2026-12'])
  const hours = periodsBetween(zone, 'hour', Date.parse('2026-11-30T10:10:00Z'), Date.parse('2026-11-30T12:00:00Z'))
  t.same(hours.labels, ['2026-11-30T15:00:00+05:30', '2026-11-30T16:00:00+05:30', '2026-11-30T17:00:00+05:30'])
  t.same(hours.starts.map(iso), ['2026-11-30T10:10:00.000Z', '2026-11-30T10:30:00.000Z', '2026-11-30T11:30:00.000Z'])
})

t.test('wall-clock times: the repeated hour is its first occurrence, a skipped time lands after the jump', async (t) => {
  t.equal(iso(wallToInstant('Europe/Berlin', Date.parse('2026-10-25T02:30:00Z'))), '2026-10-25T00:30:00.000Z')
  t.equal(iso(wallToInstant('Europe/Berlin', Date.parse('2026-03-29T02:30:00Z'))), '2026-03-29T01:30:00.000Z')
  t.equal(offsetMinutes('Asia/Kathmandu', Date.parse('2026-01-01T00:00:00Z')), 345)
})

t.test('zone names', async (t) => {
  t.equal(knownTimeZone('Europe/Berlin'), 'Europe/Berlin')
  t.equal(knownTimeZone('utc'), 'utc')
  t.equal(knownTimeZone('Asia/Kolkata'), 'Asia/Kolkata')
  for (const bad of ['Mars/Olympus', '+05:30', '', 'Europe/Berlin/x', '../etc', 'Nowhere']) t.equal(knownTimeZone(bad), null, bad)
})

t.test('several units at once: the range cut at every boundary of any of them, each piece in one period of each', async (t) => {
  // Asia/Kolkata (+05:30): from Thursday 2026-01-29 to Wednesday 2026-02-04, local midnights.
  const from = Date.parse('2026-01-28T18:30:00Z')
  const to = Date.parse('2026-02-03T18:30:00Z')
  const timeline = timelineBetween('Asia/Kolkata', ['week', 'month'], from, to)
  const rows = timeline.starts.map((start, piece) => [
    new Date(start).toISOString(),
    ...['week', 'month'].map((unit) => {
      const periods = timeline.units.get(unit as 'week' | 'month')!
      return periods.labels[periods.periodOfPiece[piece]!]
    }),
  ])
  t.same(rows, [
    ['2026-01-28T18:30:00.000Z', '2026-01-26', '2026-01'],
    ['2026-01-31T18:30:00.000Z', '2026-01-26', '2026-02'],
    ['2026-02-01T18:30:00.000Z', '2026-02-02', '2026-02'],
  ], 'the week of Jan 26 splits at the month; the next week begins on Monday Feb 2')
  const days = timelineBetween('Asia/Kolkata', ['month', 'day'], from, to)
  t.equal(days.starts.length, 6, 'month,day: a piece per day, since months end at midnight')
  t.same(days.units.get('month')!.periodOfPiece, [0, 0, 0, 1, 1, 1])
})
