import t from 'tap'
import { figures, parseGroupBy, parseSort, toCsv, visibleMetrics, type ReportRow } from '../../src/stats/report.js'
import { parsePeriod } from '../../src/stats/period.js'
import { wantsCsv } from '../../src/stats/view.js'
import { asProblem } from '../../src/http/problem.js'

const status = (fn: () => unknown) => {
  try {
    fn()
    return 200
  } catch (err) {
    return asProblem(err)?.status ?? 500
  }
}

t.test('group_by', async (t) => {
  const cases: [string | undefined, 'admin' | 'affiliate', string[] | number][] = [
    [undefined, 'admin', ['day']],
    ['offer', 'admin', ['offer']],
    ['day,offer,affiliate', 'admin', ['day', 'offer', 'affiliate']],
    [' week , goal ', 'admin', ['week', 'goal']],
    ['sub5,advertiser', 'admin', ['sub5', 'advertiser']],
    ['day,offer,affiliate,goal', 'admin', 400],
    ['day,hour', 'admin', ['day', 'hour']],
    ['week,month,offer', 'admin', ['week', 'month', 'offer']],
    ['offer,offer', 'admin', 400],
    ['Day', 'admin', 400],
    ['sub6', 'admin', 400],
    ['', 'admin', 400],
    ['day,', 'admin', 400],
    ['affiliate', 'affiliate', 400],
    ['advertiser', 'affiliate', 400],
    ['offer,sub1', 'affiliate', ['offer', 'sub1']],
  ]
  for (const [text, audience, want] of cases) {
    if (typeof want === 'number') t.equal(status(() => parseGroupBy(text, audience)), want, `${text} (${audience})`)
    else t.same(parseGroupBy(text, audience), want, `${text} (${audience})`)
  }
})

t.test('sort', async (t) => {
  const cases: [string, string[], 'admin' | 'affiliate', unknown][] = [
    ['-payout', ['day'], 'admin', [{ field: 'payout', descending: true }]],
    ['offer', ['offer'], 'admin', [{ field: 'offer_id', descending: false }]],
    ['-offer_id,cr', ['offer'], 'admin', [{ field: 'offer_id', descending: true }, { field: 'cr', descending: false }]],
    ['currency', ['day'], 'admin', [{ field: 'currency', descending: false }]],
    ['offer_id', ['day'], 'admin', 400],
    ['profit', ['day'], 'affiliate', 400],
    ['--clicks', ['day'], 'admin', 400],
    ['clicks,', ['day'], 'admin', 400],
  ]
  for (const [text, groups, audience, want] of cases) {
    if (typeof want === 'number') t.equal(status(() => parseSort(text, groups as never, audience)), want, text)
    else t.same(parseSort(text, groups as never, audience), want, text)
  }
})

t.test('CR and EPC: exact, half-up to 4 decimals, null without clicks', async (t) => {
  const base = { conversions: 0, approved: 0, pending: 0, declined: 0, hold: 0, revenue: 0n, payout: 0n, pending_revenue: 0n, pending_payout: 0n }
  const cases: [Partial<typeof base> & { clicks: number | null }, bigint | null, bigint | null][] = [
    [{ clicks: 3, approved: 1, conversions: 1, payout: 10_000n }, 333_333n, 3_333n],
    [{ clicks: 3, approved: 2, conversions: 2, payout: 20_000n }, 666_667n, 6_667n],
    [{ clicks: 2, declined: 2, conversions: 2 }, 0n, 0n],
    [{ clicks: 1, pending: 1, hold: 2, conversions: 3 }, 3_000_000n, 0n],
    [{ clicks: 0, approved: 1, conversions: 1, payout: 5n }, null, null],
    [{ clicks: null, approved: 1, conversions: 1 }, null, null],
    [{ clicks: 8, payout: 1n }, 0n, 0n],
    [{ clicks: 2, payout: 1n }, 0n, 1n],
  ]
  for (const [cell, cr, epc] of cases) {
    const f = figures({ ...base, ...cell })
    t.same([f.cr, f.epc], [cr, epc], JSON.stringify(cell, (_k, v) => (typeof v === 'bigint' ? String(v) : v)))
  }
  t.equal(figures({ ...base, clicks: 1, revenue: 1n, payout: 3n }).profit, -2n, 'profit may be negative')
})

const row = (keys: Record<string, string | number>, currency: string, clicks: number | null, payout: bigint): ReportRow => ({
  keys, currency, figures: figures({ clicks, conversions: 0, approved: 0, pending: 0, declined: 0, hold: 0, revenue: 0n, payout, pending_revenue: 0n, pending_payout: 0n }),
})

t.test('CSV', async (t) => {
  const csv = toCsv([row({ sub1: 'a,b' }, 'USD', null, 12_345n), row({ sub1: 'say "hi"\n' }, 'EUR', 3, 1n)], ['sub1'], visibleMetrics('affiliate'))
  t.equal(csv, 'sub1,currency,clicks,conversions,approved,pending,declined,hold,payout,pending_payout,cr,epc\r\n' +
    '"a,b",USD,,0,0,0,0,0,1.2345,0,,\r\n' +
    '"say ""hi""\n",EUR,3,0,0,0,0,0,0.0001,0,0,0\r\n')
})

t.test('Accept', async (t) => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false], ['application/json', false], ['text/csv', true], ['TEXT/CSV; charset=utf-8', true], ['*/*', false],
    ['application/json, text/csv', false], ['text/csv, application/json', true], ['application/json;q=0.5, text/csv', true], ['text/csv;q=0', false],
  ]
  for (const [accept, csv] of cases) t.equal(wantsCsv(accept), csv, String(accept))
})

t.test('periods', async (t) => {
  const now = Date.parse('2026-11-30T20:00:00Z')
  const iso = (p: { from: number; to: number }) => [new Date(p.from).toISOString(), new Date(p.to).toISOString()]
  t.same(iso(parsePeriod({}, now)), ['2026-11-30T00:00:00.000Z', '2026-12-01T00:00:00.000Z'], 'today, UTC')
  t.same(iso(parsePeriod({ timezone: 'Asia/Kolkata' }, now)), ['2026-11-30T18:30:00.000Z', '2026-12-01T18:30:00.000Z'], 'already tomorrow in Kolkata')
  t.same(iso(parsePeriod({ from: '2026-11-01', to: '2026-11-30', timezone: 'America/New_York' }, now)), ['2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z'])
  t.same(iso(parsePeriod({ from: '2026-11-30T10:00:00+05:30', to: '2026-11-30T12:00:00-02:00' }, now)), ['2026-11-30T04:30:00.000Z', '2026-11-30T14:00:00.000Z'])
  t.same(iso(parsePeriod({ from: '2025-10-27', to: '2026-11-30' }, now)), ['2025-10-27T00:00:00.000Z', '2026-12-01T00:00:00.000Z'], '400 days')
  const bad: [Record<string, string>, number][] = [
    [{ from: '2025-10-26', to: '2026-11-30' }, 422], [{ from: '2026-12-01', to: '2026-11-30' }, 422], [{ timezone: 'Nowhere/City' }, 400],
    [{ from: '2026-13-01' }, 400], [{ from: '2026-11-30T10:00:00+25:00' }, 400], [{ from: '30.11.2026' }, 400], [{ to: '1969-12-31' }, 400],
  ]
  for (const [query, want] of bad) t.equal(status(() => parsePeriod(query, now)), want, JSON.stringify(query))
})
