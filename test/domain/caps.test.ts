import t from 'tap'
import {
  capPeriod, clickCapsOf, clickSessionSeconds, counterKey, counterKeyText, judgeConversion, sessionExpired,
  TOTAL_PERIOD_START, type Cap, type CapPeriod,
} from '../../src/domain/caps.js'

const at = (iso: string) => new Date(iso)

t.test('cap periods: UTC days, ISO weeks (Monday first), months, total', async (t) => {
  const cases: [CapPeriod, string, string, string | null][] = [
    ['day', '2026-12-05T17:09:31.000Z', '2026-12-05T00:00:00.000Z', '2026-12-06T00:00:00.000Z'],
    ['day', '2026-12-31T23:59:59.999Z', '2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['day', '2028-02-29T00:00:00.000Z', '2028-02-29T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
    // 2026-12-05 is a Saturday: its ISO week began Monday 2026-11-30.
    ['week', '2026-12-05T17:09:31.000Z', '2026-11-30T00:00:00.000Z', '2026-12-07T00:00:00.000Z'],
    ['week', '2026-12-06T23:59:59.999Z', '2026-11-30T00:00:00.000Z', '2026-12-07T00:00:00.000Z'], // Sunday: same week
    ['week', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z', '2026-12-14T00:00:00.000Z'], // Monday: a new one
    ['week', '2027-01-01T12:00:00.000Z', '2026-12-28T00:00:00.000Z', '2027-01-04T00:00:00.000Z'], // across the year
    ['month', '2026-12-05T17:09:31.000Z', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['month', '2028-02-29T23:00:00.000Z', '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
    ['total', '2026-12-05T17:09:31.000Z', TOTAL_PERIOD_START.toISOString(), null],
  ]
  for (const [period, now, start, end] of cases) {
    const got = capPeriod(period, at(now))
    t.same([got.start.toISOString(), got.end?.toISOString() ?? null], [start, end], `${period} at ${now}`)
  }
})

const cap = (fields: Partial<Cap>): Cap => ({ metric: 'conversions', period: 'day', limit: 20_000n, per_affiliate: false, affiliate_id: null, goal: null, ...fields })
const NOW = at('2026-12-05T12:00:00Z')

t.test('counters: every affiliate together, each separately, or one', async (t) => {
  t.equal(counterKey(cap({}), 7, NOW).affiliateId, 0, 'all together')
  t.equal(counterKey(cap({ per_affiliate: true }), 7, NOW).affiliateId, 7, 'per affiliate')
  t.equal(counterKey(cap({ affiliate_id: 7 }), 7, NOW).affiliateId, 7, 'one affiliate')
  t.equal(counterKey(cap({ goal: 'Sale' }), 7, NOW).goal, 'sale', 'goals lowercase')
  t.equal(counterKeyText(counterKey(cap({ affiliate_id: 7 }), 7, NOW)), counterKeyText(counterKey(cap({ per_affiliate: true }), 7, NOW)),
    'an affiliate\'s own cap and a per-affiliate cap count the same traffic')
})

t.test('judging a conversion', async (t) => {
  const used = (entries: [Cap, number, bigint][]) => new Map(entries.map(([c, affiliate, amount]) => [counterKeyText(counterKey(c, affiliate, NOW)), amount]))
  const two = cap({ limit: 20_000n })
  const cases: [string, Cap[], Map<string, bigint>, { affiliateId: number; goal: string; payout: bigint }, boolean][] = [
    ['below the limit', [two], used([[two, 1, 10_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, false],
    ['the last unit is taken', [two], used([[two, 1, 10_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, false],
    ['at the limit: declined', [two], used([[two, 1, 20_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, true],
    ['another affiliate\'s cap does not apply', [cap({ limit: 10_000n, affiliate_id: 2 })], new Map([[counterKeyText(counterKey(cap({ affiliate_id: 2 }), 2, NOW)), 10_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, false],
    ['per affiliate: another\'s count does not matter', [cap({ limit: 10_000n, per_affiliate: true })], used([[cap({ per_affiliate: true }), 2, 10_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, false],
    ['per affiliate: its own does', [cap({ limit: 10_000n, per_affiliate: true })], used([[cap({ per_affiliate: true }), 1, 10_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, true],
    ['a goal cap ignores other goals', [cap({ limit: 10_000n, goal: 'sale' })], used([[cap({ goal: 'sale' }), 0, 10_000n]]), { affiliateId: 1, goal: 'lead', payout: 0n }, false],
    ['a goal cap matches ignoring case', [cap({ limit: 10_000n, goal: 'sale' })], used([[cap({ goal: 'sale' }), 0, 10_000n]]), { affiliateId: 1, goal: 'SALE', payout: 0n }, true],
    ['payout: fits exactly', [cap({ metric: 'payout', limit: 100_000n })], used([[cap({ metric: 'payout' }), 0, 70_000n]]), { affiliateId: 1, goal: '1', payout: 30_000n }, false],
    ['payout: one unit over', [cap({ metric: 'payout', limit: 100_000n })], used([[cap({ metric: 'payout' }), 0, 70_001n]]), { affiliateId: 1, goal: '1', payout: 30_000n }, true],
    ['clicks caps do not judge conversions', [cap({ metric: 'clicks', limit: 10_000n })], used([[cap({ metric: 'clicks' }), 0, 50_000n]]), { affiliateId: 1, goal: '1', payout: 0n }, false],
  ]
  for (const [name, caps, counters, conversion, reached] of cases) {
    t.equal(judgeConversion(caps, counters, conversion, NOW).reached, reached, name)
  }
  const shared = judgeConversion([cap({ affiliate_id: 1 }), cap({ per_affiliate: true })], new Map(), { affiliateId: 1, goal: '1', payout: 0n }, NOW)
  t.equal(shared.increments.length, 1, 'two caps over the same traffic count it once')
})

t.test('clicks caps for the click path: limits as plain counts, other metrics left out', async (t) => {
  const caps = clickCapsOf([cap({ metric: 'clicks', limit: 30_000n }), cap({ metric: 'conversions' }), cap({ metric: 'clicks', limit: 1_000_000_000n * 10_000n })])
  t.same(caps.map((c) => c.clicks), [3, 1_000_000_000])
})

t.test('click sessions', async (t) => {
  const cases: [string, number | null][] = [['1h', 3600], ['12h', 43_200], ['30d', 2_592_000], ['365d', 31_536_000], ['8760h', 31_536_000],
    ['366d', null], ['0h', null], ['59m', null], ['1y', null], ['', null], ['01d', null], ['8761h', null]]
  for (const [text, seconds] of cases) t.equal(clickSessionSeconds(text), seconds, text)
  t.notOk(sessionExpired(at('2026-12-05T10:00:00Z'), 3600, at('2026-12-05T11:00:00Z')), 'exactly at the end: still in')
  t.ok(sessionExpired(at('2026-12-05T10:00:00Z'), 3600, at('2026-12-05T11:00:00.001Z')), 'after it: expired')
})
