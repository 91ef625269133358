import t from 'tap'
import {
  DEFAULT_RETRY_SCHEDULE, maxAttempts, parseDuration, parseRetryAfter, parseRetrySchedule, retryAfterCapMs, retryDelayMs,
} from '../../src/domain/retry.js'

t.test('parseDuration', async (t) => {
  const cases: [string, number | null][] = [
    ['500ms', 500],
    ['0ms', 0],
    ['10s', 10_000],
    ['1m', 60_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['010s', 10_000],
    ['10', null],
    ['', null],
    ['s', null],
    ['1.5s', null],
    ['-1s', null],
    ['10 s', null],
    [' 10s', null],
    ['10S', null],
    ['1d', 86_400_000],
    ['10sec', null],
    ['99999999999999999h', null], // beyond safe integers
  ]
  for (const [input, expected] of cases) t.equal(parseDuration(input), expected, JSON.stringify(input))
})

t.test('parseRetrySchedule', async (t) => {
  const cases: [string, number[] | null][] = [
    [DEFAULT_RETRY_SCHEDULE, [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000]],
    ['500ms', [500]],
    ['1s , 2s,3s ', [1_000, 2_000, 3_000]],
    ['', []],
    ['  ', []],
    ['1s,,2s', null],
    ['1s,', null],
    [',1s', null],
    ['1s;2s', null],
    ['1s,2', null],
  ]
  for (const [input, expected] of cases) t.same(parseRetrySchedule(input), expected, JSON.stringify(input))
  t.equal(maxAttempts(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE) ?? []), 7, 'the default makes 7 attempts')
  t.equal(maxAttempts([]), 1)
})

t.test('retryDelayMs walks the schedule with ±10% jitter', async (t) => {
  const schedule = [10_000, 60_000, 300_000]
  const cases: [number, number, number | null][] = [
    // attemptsMade, random(), expected wait
    [1, 0.5, 10_000],
    [1, 0, 9_000],
    [1, 0.999999, 11_000],
    [2, 0.5, 60_000],
    [2, 0.25, 57_000],
    [3, 0.75, 315_000],
    [4, 0.5, null],
    [10, 0.5, null],
    [0, 0.5, 0],
  ]
  for (const [attemptsMade, r, expected] of cases) {
    t.equal(retryDelayMs(schedule, attemptsMade, () => r), expected, `after ${attemptsMade} attempts, random ${r}`)
  }
  t.equal(retryDelayMs([], 1), null, 'an empty schedule never retries')
  t.throws(() => retryDelayMs(schedule, 1.5), RangeError)
  const waits = Array.from({ length: 200 }, () => retryDelayMs(schedule, 2) as number)
  t.equal(waits.filter((w) => w < 54_000 || w > 66_000).length, 0, 'Math.random jitter stays within ±10%')
  t.ok(new Set(waits).size > 1, 'and does vary')
})

t.test('parseRetryAfter: delta-seconds, the three HTTP-date forms, and garbage', async (t) => {
  const now = Date.parse('2026-12-05T12:00:00Z')
  const cases: [string | string[] | undefined, number | null][] = [
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5_000],
    ['Sat, 05 Dec 2026 12:00:30 GMT', 30_000],
    ['Saturday, 05-Dec-26 12:01:00 GMT', 60_000],
    ['Sat Dec  5 12:00:10 2026', 10_000],
    ['Sat, 05 Dec 2026 11:00:00 GMT', 0], // past: no wait beyond the schedule
    ['Sun, 05 Dec 2027 12:00:00 GMT', 365 * 86_400_000], // a year ahead: parsed; the dispatcher caps it
    ['99999999999', null], // beyond any real delta
    ['-5', null],
    ['1.5', null],
    ['soon', null],
    ['12:00', null],
    ['2026-12-05T12:00:30Z', null], // ISO 8601 is not an HTTP-date
    ['Sat, 45 Dec 2026 12:00:30 GMT', null],
    ['', null],
    [undefined, null],
    [['1', '2'], null],
  ]
  for (const [value, expected] of cases) t.equal(parseRetryAfter(value, now), expected, JSON.stringify(value))
})

t.test('retryAfterCapMs: the longest scheduled wait', async (t) => {
  t.equal(retryAfterCapMs([10_000, 60_000, 21_600_000, 3_600_000]), 21_600_000)
  t.equal(retryAfterCapMs([]), 0)
})
