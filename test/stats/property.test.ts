import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, inject } from '../helpers/build.js'
import { clickRecord } from '../helpers/seeds.js'
import { advertiserPostback, asAffiliate, createAdvertiser, createAffiliate, createOffer, type AffiliateJson, type OfferJson } from '../helpers/fixtures.js'
import { parseAmount, formatAmountPlain } from '../../src/domain/money.js'

// A random workload through the real write paths (the click recorder's batches, /postback, the admin's status
// change, hold expiry), then every report shape against a recomputation from the raw click and conversion lists.
// The recomputation names periods with Intl directly, not with the service's period arithmetic.

const ZONE = 'Asia/Kolkata'
const DAY = 86_400_000

/** A small seeded generator, so a failure can be replayed (the seed is in the test name). */
function generator (seed: number) {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6D2B79F5) >>> 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T,
  }
}

interface RawClick { clickid: string; offer_id: number; affiliate_id: number; params: Record<string, string>; created_at: string }
interface RawConversion {
  id: number;
  clickid: string;
  offer_id: number;
  affiliate_id: number;
  goal: string;
  status: string
  revenue: number;
  payout: number;
  currency: string;
  created_at: string
}

async function all<T> (app: FastifyInstance, url: string): Promise<T[]> {
  const out: T[] = []
  let cursor: string | null = null
  do {
    const res = await inject(app, { method: 'GET', url: `${url}?limit=500${cursor === null ? '' : `&cursor=${cursor}`}` })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const page = res.json() as { data: T[]; next_cursor: string | null }
    out.push(...page.data)
    cursor = page.next_cursor
  } while (cursor !== null)
  return out
}

const partsOf = (zone: string, ms: number) => {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', weekday: 'short', timeZoneName: 'longOffset',
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]))
  return parts as Record<string, string>
}

/** The period label of an instant, the way a person would read it off a calendar of the zone. */
function label (zone: string, unit: string, ms: number): string {
  const p = partsOf(zone, ms)
  const date = `${p.year}-${p.month}-${p.day}`
  if (unit === 'day') return date
  if (unit === 'month') return `${p.year}-${p.month}`
  if (unit === 'hour') {
    const offset = (p.timeZoneName as string).replace('GMT', '')
    return `${date}T${p.hour}:00:00${offset === '' ? '+00:00' : offset}`
  }
  const back = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday as string)
  return new Date(Date.parse(`${date}T00:00:00Z`) - back * DAY).toISOString().slice(0, 10)
}

const amount = (n: number) => parseAmount(n) as bigint
const half = (n: bigint, d: bigint) => (2n * n + d) / (2n * d)
const money = (a: bigint) => Number(formatAmountPlain(a))

interface Shape { group_by: string[]; filters?: Record<string, string>; from: string; to: string; panel?: AffiliateJson }

/** What the report should say, computed from the raw lists. */
function expected (shape: Shape, clicks: RawClick[], conversions: RawConversion[], offers: Map<number, OfferJson>, fromMs: number, toMs: number) {
  const f = shape.filters ?? {}
  const inList = (name: string, value: number) => f[name] === undefined || f[name].split(',').map(Number).includes(value)
  const keep = (e: { offer_id: number; affiliate_id: number; created_at: string }, params: Record<string, string>) => {
    const at = Date.parse(e.created_at)
    if (at < fromMs || at >= toMs) return false
    if (!inList('offer_id', e.offer_id) || !inList('affiliate_id', e.affiliate_id)) return false
    if (!inList('advertiser_id', (offers.get(e.offer_id) as OfferJson).advertiser_id)) return false
    if (shape.panel !== undefined && e.affiliate_id !== shape.panel.id) return false
    return ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'].every((sub) => f[sub] === undefined || params[sub] === f[sub])
  }
  const clicksApply = !shape.group_by.includes('goal') && f.goal === undefined
  const rows = new Map<string, { keys: Record<string, string | number>; currency: string; c: number; n: number; a: number; p: number; d: number; h: number; rev: bigint; pay: bigint; prev: bigint; ppay: bigint }>()
  const cell = (e: { offer_id: number; affiliate_id: number; created_at: string }, params: Record<string, string>, goal: string | null, currency: string) => {
    const keys: Record<string, string | number> = {}
    for (const g of shape.group_by) {
      if (['hour', 'day', 'week', 'month'].includes(g)) keys[g] = label(ZONE, g, Date.parse(e.created_at))
      else if (g === 'offer') keys.offer_id = e.offer_id
      else if (g === 'affiliate') keys.affiliate_id = e.affiliate_id
      else if (g === 'advertiser') keys.advertiser_id = (offers.get(e.offer_id) as OfferJson).advertiser_id
      else if (g === 'goal') keys.goal = goal as string
      else keys[g] = params[g] ?? ''
    }
    const id = JSON.stringify([keys, currency])
    let row = rows.get(id)
    if (row === undefined) {
      row = { keys, currency, c: 0, n: 0, a: 0, p: 0, d: 0, h: 0, rev: 0n, pay: 0n, prev: 0n, ppay: 0n }
      rows.set(id, row)
    }
    return row
  }
  const clickById = new Map(clicks.map((c) => [c.clickid, c]))
  if (clicksApply) {
    for (const c of clicks) if (keep(c, c.params)) cell(c, c.params, null, (offers.get(c.offer_id) as OfferJson).currency).c += 1
  }
  for (const v of conversions) {
    const params = (clickById.get(v.clickid) as RawClick).params
    if (!keep(v, params) || (f.goal !== undefined && v.goal.toLowerCase() !== f.goal.toLowerCase())) continue
    const row = cell(v, params, v.goal, v.currency)
    row.n += 1
    if (v.status === 'approved') { row.a += 1; row.rev += amount(v.revenue); row.pay += amount(v.payout) }
    if (v.status === 'pending') row.p += 1
    if (v.status === 'hold') row.h += 1
    if (v.status === 'declined') row.d += 1
    if (v.status === 'pending' || v.status === 'hold') { row.prev += amount(v.revenue); row.ppay += amount(v.payout) }
  }
  const json = (r: { c: number | null; n: number; a: number; p: number; d: number; h: number; rev: bigint; pay: bigint; prev: bigint; ppay: bigint }) => {
    const clicks = clicksApply ? r.c : null
    const out: Record<string, unknown> = {
      clicks,
      conversions: r.n,
      approved: r.a,
      pending: r.p,
      declined: r.d,
      hold: r.h,
      revenue: money(r.rev),
      payout: money(r.pay),
      pending_revenue: money(r.prev),
      pending_payout: money(r.ppay),
      profit: money(r.rev - r.pay),
      cr: clicks === null || clicks === 0 ? null : money(half(BigInt(r.a + r.p + r.h) * 1_000_000n, BigInt(clicks))),
      epc: clicks === null || clicks === 0 ? null : money(half(r.pay, BigInt(clicks))),
    }
    if (shape.panel !== undefined) { delete out.revenue; delete out.pending_revenue; delete out.profit }
    return out
  }
  const data = [...rows.values()].map((r) => ({ ...r.keys, currency: r.currency, ...json(r) }))
  const totals = new Map<string, { c: number; n: number; a: number; p: number; d: number; h: number; rev: bigint; pay: bigint; prev: bigint; ppay: bigint }>()
  for (const r of rows.values()) {
    const t = totals.get(r.currency) ?? { c: 0, n: 0, a: 0, p: 0, d: 0, h: 0, rev: 0n, pay: 0n, prev: 0n, ppay: 0n }
    t.c += r.c; t.n += r.n; t.a += r.a; t.p += r.p; t.d += r.d; t.h += r.h; t.rev += r.rev; t.pay += r.pay; t.prev += r.prev; t.ppay += r.ppay
    totals.set(r.currency, t)
  }
  return {
    data,
    totals: [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([currency, r]) => ({ currency, ...json(r) })),
  }
}

/** Rows in a canonical order, for comparison whatever the report's sort. */
const canonical = (rows: Record<string, unknown>[]) => rows.map((row) => JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k]]))).sort()

// Seed 1 keeps a daily tier for the report's zone (named in another case: zones compare ignoring case), so whole
// days come from it; seed 2 keeps one for UTC only, so the same reports come from the 15-minute tier.
for (const [seed, zones] of [[1, ZONE.toLowerCase()], [2, 'UTC']] as const) {
  t.test(`every report shape equals the raw lists (seed ${seed}, daily tier for ${zones})`, async (t) => {
    const { app } = await build(t, { env: { STATS_TIME_ZONES: zones } })
    const rnd = generator(seed)
    const advertisers = [await createAdvertiser(app), await createAdvertiser(app)]
    const goals = [
      { value: '1', title: 'Sale', type: 'fixed', revenue: 10.1, payout: 6.05 },
      { value: 'Lead', title: 'Lead', type: 'fixed', revenue: 0.3333, payout: 0.1111 },
      { value: 'pct', title: 'Share', type: 'percent', revenue: 12.5, payout: 7.3 },
    ]
    const offerList: OfferJson[] = []
    for (const [i, currency] of ['USD', 'EUR', 'USD', 'INR'].entries()) {
      offerList.push(await createOffer(app, { advertiser_id: (advertisers[i % 2] as { id: number }).id, currency, goals, hold_period_days: 1, allow_duplicate_conversions: i === 2 }))
    }
    const offers = new Map(offerList.map((o) => [o.id, o]))
    const affiliates = [await createAffiliate(app), await createAffiliate(app), await createAffiliate(app)]

    // Clicks over three weeks, at random instants, some exactly on a quarter hour; written by the recorder's batches.
    const now = Date.now()
    const start = now - 21 * DAY
    const clickTimes: number[] = []
    for (let i = 0; i < 260; i++) {
      const at = start + rnd.int(21 * DAY - 3_600_000)
      clickTimes.push(rnd.int(5) === 0 ? Math.floor(at / 900_000) * 900_000 : at)
    }
    const subValues = ['', 'a', 'b', 'x y', 'ü']
    const written: string[] = []
    for (const at of clickTimes) {
      const params: Record<string, string> = {}
      for (const sub of ['sub1', 'sub2']) {
        const value = rnd.pick(subValues)
        if (value !== '' || rnd.int(2) === 0) params[sub] = value
      }
      const click = clickRecord(rnd.pick(offerList).id, rnd.pick(affiliates).id, at, params)
      app.clickRecorder.record(click)
      written.push(click.clickid)
    }
    await app.clickRecorder.flush()
    // The fold adds the first ten days to the daily tier: what is written for them later reaches it through the triggers.
    await app.statsFolding.runOnce(new Date(start + 10 * DAY))

    // Conversions, duplicates and rejections through /postback.
    const created: number[] = []
    for (let i = 0; i < 140; i++) {
      const clickid = rnd.pick(written)
      const goal = rnd.pick(['1', 'lead', 'PCT', 'missing'])
      const params: Record<string, string | number> = { clickid, goal, status: rnd.pick(['1', '2', '3', '5', '2']) }
      if (rnd.int(3) > 0) params.action_id = `act-${rnd.int(120)}`
      if (goal === 'PCT' && rnd.int(6) > 0) params.sum = (rnd.int(100_000) / 100).toFixed(2)
      const res = await advertiserPostback(app, params)
      if (res.statusCode === 200 && res.json().duplicate === false) created.push(res.json().conversion_id as number)
    }
    t.ok(created.length > 40, `${created.length} conversions created`)

    // The API stamps a conversion with now(): spread them over the weeks, after their click (any update keeps the figures).
    await sql`update conversions c set created_at = k.created_at + (random() * interval '2 days')
      from clicks k where k.clickid = c.clickid`.execute(app.db)
    await sql`update conversions set created_at = least(created_at, now() - interval '1 minute')`.execute(app.db)

    // Status changes: the advertiser's (pending only), the admin's (any), and hold expiry; half of them after a
    // fold up to five days ago, in the middle of a local day: reports read the daily tier up to there, then the 15-minute tier.
    for (let i = 0; i < 60; i++) {
      if (i === 30) await app.statsFolding.runOnce(new Date(now - 5 * DAY + 3 * 3_600_000))
      const id = rnd.pick(created)
      if (rnd.int(2) === 0) {
        const conv = (await inject(app, { method: 'GET', url: `/v1/conversions/${id}` })).json() as RawConversion & { action_id: string | null }
        const params: Record<string, string> = { clickid: conv.clickid, goal: conv.goal, status: rnd.pick(['1', '3', '5']) }
        if (conv.action_id !== null) params.action_id = conv.action_id
        if (conv.goal === 'pct') params.sum = '19.99'
        await advertiserPostback(app, params)
      } else {
        const res = await inject(app, { method: 'PATCH', url: `/v1/conversions/${id}`, payload: { status: rnd.pick(['approved', 'pending', 'declined', 'hold']), ...(rnd.int(4) === 0 ? { payout: 0.5 } : {}) } })
        t.equal(res.statusCode, 200)
      }
    }
    await sql`update conversions set hold_until = now() - interval '1 second' where status = 'hold' and id % 2 = 0`.execute(app.db)
    await app.holdExpiry.runOnce()

    const dailyRows = await sql<{ n: number }>`select count(*)::int as n from stats_daily_clicks where zone = ${zones}`.execute(app.db)
    t.ok((dailyRows.rows[0]?.n ?? 0) > 0, `the daily tier of ${zones} holds the clicks`)

    const clicks = await all<RawClick>(app, '/v1/clicks')
    const conversions = await all<RawConversion>(app, '/v1/conversions')
    t.equal(clicks.length, 260)

    const firstDay = label(ZONE, 'day', start - DAY)
    const lastDay = label(ZONE, 'day', now)
    const [o1, o2] = offerList as [OfferJson, OfferJson]
    const [a1, a2] = affiliates as [AffiliateJson, AffiliateJson]
    const oddFrom = new Date(start + 5 * DAY + 7 * 60_000 + 13_000).toISOString()
    const oddTo = new Date(now - 3 * DAY - 11 * 60_000).toISOString()
    const quarterFrom = new Date(Math.floor((start + 2 * DAY) / 3_600_000) * 3_600_000 + 45 * 60_000).toISOString()
    const quarterTo = new Date(Math.floor((now - 2 * DAY) / 3_600_000) * 3_600_000 + 15 * 60_000).toISOString()
    const shapes: Shape[] = [
      ...[['day'], ['hour'], ['week'], ['month'], ['offer'], ['affiliate'], ['advertiser'], ['goal'], ['sub1'],
        ['day', 'offer'], ['day', 'affiliate'], ['offer', 'goal'], ['week', 'advertiser', 'goal'], ['hour', 'affiliate', 'sub2'], ['month', 'sub1', 'sub2']]
        .map((group_by) => ({ group_by, from: firstDay, to: lastDay })),
      { group_by: ['day', 'offer'], from: oddFrom, to: oddTo },
      { group_by: ['hour'], from: oddFrom, to: oddTo },
      // Periods cut inside an hour (+05:30), ends off the hour and off the quarter-hour, and each catalog key
      // grouped and filtered alone and together.
      { group_by: ['day', 'affiliate'], from: oddFrom, to: oddTo },
      { group_by: ['hour', 'offer'], from: quarterFrom, to: oddTo },
      { group_by: ['hour', 'affiliate'], from: oddFrom, to: quarterTo },
      { group_by: ['day', 'goal'], from: quarterFrom, to: quarterTo, filters: { offer_id: String(o1.id) } },
      { group_by: ['week', 'advertiser'], from: oddFrom, to: quarterTo },
      { group_by: ['day'], from: firstDay, to: lastDay, filters: { affiliate_id: `${a1.id},${a2.id}` } },
      { group_by: ['month', 'affiliate'], from: firstDay, to: lastDay, filters: { goal: 'pct' } },
      { group_by: ['day', 'offer', 'affiliate'], from: quarterFrom, to: oddTo },
      // Several time units: a row per piece of time in one period of each (a week across two months: two rows).
      { group_by: ['month', 'day'], from: oddFrom, to: oddTo },
      { group_by: ['week', 'month', 'offer'], from: firstDay, to: lastDay },
      { group_by: ['day', 'hour'], from: quarterFrom, to: quarterTo },
      { group_by: ['affiliate', 'goal'], from: oddFrom, to: oddTo, filters: { goal: 'LEAD' } },
      { group_by: ['day'], from: firstDay, to: lastDay, filters: { offer_id: `${o1.id},${o2.id}`, affiliate_id: String(a1.id) } },
      { group_by: ['offer'], from: firstDay, to: lastDay, filters: { advertiser_id: String(o1.advertiser_id), sub1: 'a' } },
      { group_by: ['day', 'sub2'], from: oddFrom, to: oddTo, filters: { sub1: 'ü' } },
      { group_by: ['day', 'offer'], from: firstDay, to: lastDay, panel: a1 },
      { group_by: ['week', 'goal'], from: oddFrom, to: oddTo, panel: a2 },
      { group_by: ['sub1'], from: firstDay, to: lastDay, panel: a2, filters: { offer_id: String(o2.id) } },
    ]
    for (const shape of shapes) {
      const query = new URLSearchParams({ timezone: ZONE, group_by: shape.group_by.join(','), from: shape.from, to: shape.to, limit: '1000', ...shape.filters })
      const url = `${shape.panel === undefined ? '/v1/stats' : '/v1/affiliate/stats'}?${query}`
      const res = await app.inject({ method: 'GET', url, headers: shape.panel === undefined ? { 'api-key': 'test-admin-key-0123456789' } : asAffiliate(shape.panel) })
      t.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 300)}`)
      const report = res.json() as { data: Record<string, unknown>[]; totals: Record<string, unknown>[]; from: string; to: string }
      // The period, independently: a date is its whole day at +05:30, a time is itself.
      const fromMs = shape.from.includes('T') ? Date.parse(shape.from) : Date.parse(`${shape.from}T00:00:00+05:30`)
      const toMs = shape.to.includes('T') ? Date.parse(shape.to) : Date.parse(`${shape.to}T00:00:00+05:30`) + DAY
      t.same([Date.parse(report.from), Date.parse(report.to)], [fromMs, toMs], `${url}: period`)
      const want = expected(shape, clicks, conversions, offers, fromMs, toMs)
      t.ok(want.data.length > 0, `${url}: some rows expected`)
      t.same(canonical(report.data), canonical(want.data), url)
      t.same(report.totals, want.totals, `${url}: totals`)
    }
  })
}
