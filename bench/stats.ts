/**
 * Statistics: what keeping the rollups costs the writes, and how fast the report answers from them.
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/stats.js
 *
 * 0. The whole system: the service in a child process, clicks through /click and conversions through /postback,
 *    with the rollups on and off in ABBA rounds (BENCH_STATS_HTTP_ROUNDS, 0 to skip); service and database CPU.
 *    The service runs without the maintenance role: a round with the rollups ends with the fold of its clicks.
 * 1. Rollup cost. The real write statements (the click recorder's batch insert, the intake's conversion batch,
 *    the compare-and-set status change) run in alternating rounds with the rollups (triggers and folds) and without,
 *    in the same run and database; PostgreSQL backend CPU (this database's backends only, from /proc) per click
 *    and per conversion is compared, the folds of each round's bucket into the 15-minute and daily tiers included.
 *    BENCH_STATS_ROUNDS (6) rounds each way of BENCH_STATS_ROUND_CLICKS (10,000) clicks and
 *    BENCH_STATS_ROUND_CONVERSIONS (1,000) conversions, a fifth of which then change status. BENCH_STATS_SKEW
 *    (1, uniform) concentrates the traffic on the first offers and affiliates.
 * 2. Report latency. BENCH_STATS_CLICKS (2,000,000) clicks over BENCH_STATS_DAYS (60) days and a tenth as many
 *    conversions, on BENCH_STATS_OFFERS (50) offers and BENCH_STATS_AFFILIATES (200) affiliates, are written by
 *    set-based inserts (the triggers keep the rollups); then BENCH_STATS_RUNS (30) reports of each shape
 *    (30 days by day and offer, by day and affiliate, in Asia/Kolkata; 7 days by day and sub1 for one offer).
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pino from 'pino'
import { openDatabase, type Db } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { clickMonthsBetween, makeClickPartitions } from '../src/clicks/partitions.js'
import { insertClicks, type ClickRecord } from '../src/clicks/repository.js'
import { insertConversions, updateConversionIf, type NewConversionEntry } from '../src/conversions/repository.js'
import { buildReport } from '../src/stats/service.js'
import { CLICK_FOLD_GRACE_MS } from '../src/stats/click-fold.js'
import { FOLD_GRACE_MS, syncReportingZones } from '../src/stats/daily-tiers.js'
import { foldStatistics } from '../src/stats/folding.js'
import { conversionRow } from '../test/helpers/seeds.js'
import autocannon from 'autocannon'
import { answerCpuQueries, answerFlushRequests, askCpu, flushClicks, freshDatabase, meterDatabaseBackends, serveApp, startChild, stopChild } from './children.js'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const ROUNDS = env('BENCH_STATS_ROUNDS', 6)
const ROUND_CLICKS = env('BENCH_STATS_ROUND_CLICKS', 10_000)
const ROUND_CONVERSIONS = env('BENCH_STATS_ROUND_CONVERSIONS', 1_000)
const CLICKS = env('BENCH_STATS_CLICKS', 2_000_000)
const DAYS = env('BENCH_STATS_DAYS', 60)
const OFFERS = env('BENCH_STATS_OFFERS', 50)
const AFFILIATES = env('BENCH_STATS_AFFILIATES', 200)
const RUNS = env('BENCH_STATS_RUNS', 30)
const DAY_MS = 86_400_000
/** The whole system's rounds (BENCH_STATS_HTTP_ROUNDS each way) of clicks through /click and conversions through /postback. */
const HTTP_ROUNDS = env('BENCH_STATS_HTTP_ROUNDS', 4)
const HTTP_CLICKS = env('BENCH_STATS_HTTP_CLICKS', 10_000)
const HTTP_CONVERSIONS = env('BENCH_STATS_HTTP_CONVERSIONS', 2_000)
/** The reporting zones (STATS_TIME_ZONES) the database keeps a daily tier for: the reports' zone by default. */
const ZONES = (process.env.BENCH_STATS_ZONES ?? 'Asia/Kolkata').split(',').filter((zone) => zone !== '')

/**
 * What `work` costs this database's backends, in µs (`meterDatabaseBackends`: a backend that exits meanwhile, as
 * a pool's idle connection does, keeps what it used; reading /proc before and after would lose it).
 */
async function backendsCpuOver<T> (database: string, work: () => Promise<T>): Promise<{ result: T; micros: number }> {
  const meter = await meterDatabaseBackends(database)
  const result = await work()
  return { result, micros: (await meter.stop()) ?? NaN }
}

/**
 * Without the rollups no fold counts a round's clicks: after such a round the click fold is moved past them,
 * outside the meter, so that the next round with rollups folds only its own.
 */
async function skipClickFold (db: Db, until: number): Promise<void> {
  await sql`update stats_click_fold set folded_until = greatest(folded_until, ${new Date(until).toISOString()}::timestamptz)`.execute(db)
}

async function setTriggers (db: Db, on: boolean): Promise<void> {
  const verb = sql.raw(on ? 'enable' : 'disable')
  await sql`alter table clicks ${verb} trigger clicks_stats`.execute(db)
  await sql`alter table conversions ${verb} trigger conversions_stats_insert`.execute(db)
  await sql`alter table conversions ${verb} trigger conversions_stats_update`.execute(db)
}

const pick = (n: number) => 1 + Math.floor(Math.random() * n)
/**
 * Which offer and affiliate a written click or conversion belongs to. BENCH_STATS_SKEW (1: uniform, the worst case
 * for the rollups, as every batch touches as many cells as it holds clicks) above 1 concentrates traffic on the
 * first ones as a network's does: at 3, the first offer of 50 takes 27% of the clicks, the first affiliate of 200 17%.
 */
const SKEW = env('BENCH_STATS_SKEW', 1)
const pickSkewed = (n: number) => 1 + Math.floor(Math.random() ** SKEW * n)

/** A recorder's clicks: created within `spreadMs` before `at`. */
function clickBatch (count: number, at: number, spreadMs: number): ClickRecord[] {
  return Array.from({ length: count }, () => {
    const created = at - Math.floor(Math.random() * spreadMs)
    return {
      clickid: Math.floor(created / 1000).toString(16).padStart(8, '0') + randomBytes(8).toString('hex'),
      offer_id: pickSkewed(OFFERS),
      affiliate_id: pickSkewed(AFFILIATES),
      tracking_link_id: null,
      params: { sub1: `s${pick(20)}` },
      ip: '203.0.113.7',
      user_agent: 'bench',
      referrer: null,
      created_at: new Date(created),
    }
  })
}

function conversionEntry (click: ClickRecord, createdAt: Date): NewConversionEntry {
  return {
    values: conversionRow({
      created_at: createdAt,
      clickid: click.clickid,
      offer_id: click.offer_id,
      affiliate_id: click.affiliate_id,
      click_dedup_key: click.clickid,
      revenue: '2.5000',
      payout: '1.2500',
      click_params: JSON.stringify(click.params),
      click_created_at: click.created_at,
    }),
    log: { method: 'GET', params: { clickid: click.clickid }, offerId: click.offer_id, clickid: click.clickid },
  }
}

interface Cost { clicks: number; conversions: number; clickMicros: number; conversionMicros: number }

const QUARTER_MS = 15 * 60_000
/** The 15-minute buckets the rounds write into, one after another, ahead of the clock and of everything folded. */
let nextBucket = Math.ceil(Date.now() / QUARTER_MS) * QUARTER_MS + 4 * QUARTER_MS

/**
 * One round: clicks in batches of 500 as the recorder writes them (created within the bucket's first second),
 * then conversions in batches of 50 and a fifth of them changing status, in the next bucket. With the rollups on,
 * each part ends with the folds the maintenance instance runs (the clicks into the 15-minute tier, the bucket into
 * the daily tier), whose CPU counts in the part's.
 */
async function round (db: Db, database: string, on: boolean): Promise<Cost> {
  const clickBucket = nextBucket
  const conversionBucket = nextBucket + QUARTER_MS
  nextBucket += 2 * QUARTER_MS
  const foldAfter = (bucket: number) => on ? foldStatistics(db, new Date(bucket + QUARTER_MS + FOLD_GRACE_MS)) : Promise.resolve(0)
  const clicks = clickBatch(ROUND_CLICKS, clickBucket + 1000, 1000)
  const clickCost = await backendsCpuOver(database, async () => {
    for (let i = 0; i < clicks.length; i += 500) await insertClicks(db, clicks.slice(i, i + 500))
    await foldAfter(clickBucket)
  })
  const ids: number[] = []
  const converting = clicks.slice(0, ROUND_CONVERSIONS)
  const conversionCost = await backendsCpuOver(database, async () => {
    for (let i = 0; i < converting.length; i += 50) {
      await db.transaction().execute(async (trx) => {
        const { created } = await insertConversions(trx, converting.slice(i, i + 50).map((click) => conversionEntry(click, new Date(conversionBucket + i))))
        for (const c of created) if (c !== undefined) ids.push(c.conversion.id)
      })
    }
    for (const id of ids.filter((_id, i) => i % 5 === 0)) {
      await db.transaction().execute((trx) => updateConversionIf(trx, id, 'pending', { status: 'approved' }))
    }
    await foldAfter(conversionBucket)
  })
  if (!on) await skipClickFold(db, conversionBucket + QUARTER_MS)
  return { clicks: clicks.length, conversions: ids.length, clickMicros: clickCost.micros, conversionMicros: conversionCost.micros }
}

/** What `work` costs the service process and this database's backends, in µs. */
async function systemCpuOver<T> (database: string, child: ChildProcess, work: () => Promise<T>): Promise<{ result: T; micros: number }> {
  const before = await askCpu(child)
  const { result, micros } = await backendsCpuOver(database, work)
  return { result, micros: micros + (await askCpu(child)) - before }
}

/**
 * The whole system's cost: the real service in a child process on this database, clicks through /click spread
 * over every offer and affiliate, conversions through /postback on clicks prepared in the database, in rounds
 * with the rollup triggers on and off (ABBA). CPU of the service and of this database's backends per unit.
 */
async function measureSystem (db: Db, databaseUrl: string, database: string): Promise<void> {
  const server = await startChild(import.meta.url, ['serve', databaseUrl])
  try {
    const base = `http://127.0.0.1:${server.port}`
    const prepared = HTTP_ROUNDS * 2 * HTTP_CONVERSIONS + HTTP_CONVERSIONS
    const ids = await sql<{ clickid: string }>`
      insert into clicks (clickid, offer_id, affiliate_id, params, ip, created_at)
      select lpad(to_hex(floor(extract(epoch from now()))::bigint), 8, '0') || substr(md5(g::text || random()::text), 1, 16),
        1 + g % ${OFFERS}::int, 1 + g % ${AFFILIATES}::int, '{}'::jsonb, '203.0.113.7', now()
      from generate_series(1, ${prepared}::int) g returning clickid`.execute(db)
    const clickids = ids.rows.map((row) => row.clickid)
    await skipClickFold(db, Date.now() + 1000)
    let nextClickid = 0
    const clicks = () => autocannon({
      url: base,
      connections: 20,
      amount: HTTP_CLICKS,
      requests: [{ setupRequest: (request) => ({ ...request, path: `/click?pid=${pickSkewed(AFFILIATES)}&offer_id=${pickSkewed(OFFERS)}&sub1=s${pick(20)}` }) }],
    })
    const conversions = () => autocannon({
      url: base,
      connections: 20,
      amount: HTTP_CONVERSIONS,
      requests: [{ setupRequest: (request) => ({ ...request, path: `/postback?clickid=${clickids[nextClickid++ % clickids.length]}&goal=1` }) }],
    })
    const sums = { on: { clicks: 0, conversions: 0, clickMicros: 0, conversionMicros: 0 }, off: { clicks: 0, conversions: 0, clickMicros: 0, conversionMicros: 0 } }
    await clicks() // warm-up: plans, caches, the JIT
    await conversions()
    for (let r = 0; r < HTTP_ROUNDS * 2; r++) {
      const on = [0, 3].includes(r % 4)
      await setTriggers(db, on)
      const sum = on ? sums.on : sums.off
      await flushClicks(server.child)
      // A round of clicks ends when the service has written every click it answered.
      // With the rollups the round's clicks are folded (as the maintenance instance does every few seconds).
      const clickRun = await systemCpuOver(database, server.child, async () => {
        const run = await clicks()
        await flushClicks(server.child)
        if (on) await foldStatistics(db, new Date(Date.now() + CLICK_FOLD_GRACE_MS))
        return run
      })
      if (!on) await skipClickFold(db, Date.now())
      sum.clickMicros += clickRun.micros
      sum.clicks += clickRun.result.statusCodeStats['302']?.count ?? 0
      const conversionRun = await systemCpuOver(database, server.child, conversions)
      sum.conversionMicros += conversionRun.micros
      sum.conversions += conversionRun.result.statusCodeStats['200']?.count ?? 0
      if (process.env.BENCH_STATS_VERBOSE === '1') console.log(`round ${r} (${on ? 'on' : 'off'}): ${JSON.stringify(sum)}`)
    }
    await setTriggers(db, true)
    const per = (micros: number, units: number) => micros / Math.max(1, units)
    const clickOn = per(sums.on.clickMicros, sums.on.clicks)
    const clickOff = per(sums.off.clickMicros, sums.off.clicks)
    const conversionOn = per(sums.on.conversionMicros, sums.on.conversions)
    const conversionOff = per(sums.off.conversionMicros, sums.off.conversions)
    console.log(`whole system (service + database), ${HTTP_ROUNDS} rounds each way: ${sums.on.clicks + sums.off.clicks} clicks, ${sums.on.conversions + sums.off.conversions} conversions answered`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'service and database CPU per click through /click, with rollups', value: clickOn.toFixed(1), unit: 'µs' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'service and database CPU per click through /click, without rollups', value: clickOff.toFixed(1), unit: 'µs' })}`)
    console.log(`clicks: whole-system rollup CPU ratio ${(clickOn / clickOff).toFixed(3)} (with / without; target <= 1.10)`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'service and database CPU per conversion through /postback, with rollups', value: conversionOn.toFixed(1), unit: 'µs' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'service and database CPU per conversion through /postback, without rollups', value: conversionOff.toFixed(1), unit: 'µs' })}`)
    console.log(`conversions: whole-system rollup CPU ratio ${(conversionOn / conversionOff).toFixed(3)} (with / without; target <= 1.10)`)
  } finally {
    await stopChild(server.child)
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  const databaseName = new URL(database.url).pathname.slice(1)
  const log = pino({ level: 'silent' })
  const handle = await openDatabase({ databaseUrl: database.url, dataDir: null }, log)
  const db = handle.db
  try {
    await migrateToLatest(db, log)
    await syncReportingZones(db, ZONES, new Date())
    console.log(`reporting zones: ${ZONES.join(', ') || 'none'}`)
    // Clicks are partitioned by month: the months of the history and of the rounds, as maintenance would make them.
    await makeClickPartitions(db, clickMonthsBetween(new Date(Date.now() - (DAYS + 2) * DAY_MS), new Date(Date.now() + DAY_MS)))
    await sql`insert into advertisers (name) select 'Advertiser ' || g from generate_series(1, 5) g`.execute(db)
    await sql`insert into offers (advertiser_id, title, url, currency)
      select 1 + g % 5, 'Offer ' || g, 'https://adv.example/?c={clickid}', case when g % 4 = 0 then 'EUR' else 'USD' end
      from generate_series(1, ${OFFERS}::int) g`.execute(db)
    await sql`insert into offer_goals (offer_id, position, value, title, type, revenue, payout)
      select id, 0, '1', 'Sale', 'fixed', 2.5, 1.25 from offers`.execute(db)
    await sql`insert into affiliates (name, email, api_key_hash)
      select 'Partner ' || g, 'p' || g || '@example.com', md5(g::text) from generate_series(1, ${AFFILIATES}::int) g`.execute(db)

    // The whole system first, on clicks and conversions of now: the rounds below write into buckets ahead of the clock.
    if (HTTP_ROUNDS > 0) await measureSystem(db, database.url, databaseName)

    // 1. Rollup cost, with and without, interleaved so that drift in the machine's load touches both alike.
    const sums = { on: { clicks: 0, conversions: 0, clickMicros: 0, conversionMicros: 0 }, off: { clicks: 0, conversions: 0, clickMicros: 0, conversionMicros: 0 } }
    await round(db, databaseName, true) // warm-up: plans, caches
    for (let r = 0; r < ROUNDS * 2; r++) {
      const on = r % 2 === 0
      await setTriggers(db, on)
      const cost = await round(db, databaseName, on)
      const sum = on ? sums.on : sums.off
      sum.clicks += cost.clicks
      sum.conversions += cost.conversions
      sum.clickMicros += cost.clickMicros
      sum.conversionMicros += cost.conversionMicros
    }
    await setTriggers(db, true)
    const perClick = (s: typeof sums.on) => s.clickMicros / s.clicks
    const perConversion = (s: typeof sums.on) => s.conversionMicros / s.conversions
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'database CPU per click, with rollups', value: perClick(sums.on).toFixed(1), unit: 'µs' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'database CPU per click, without rollups', value: perClick(sums.off).toFixed(1), unit: 'µs' })}`)
    console.log(`clicks: rollup CPU ratio ${(perClick(sums.on) / perClick(sums.off)).toFixed(3)} (with / without)`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'database CPU per conversion (and a fifth status change), with rollups', value: perConversion(sums.on).toFixed(1), unit: 'µs' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'database CPU per conversion (and a fifth status change), without rollups', value: perConversion(sums.off).toFixed(1), unit: 'µs' })}`)
    console.log(`conversions: rollup CPU ratio ${(perConversion(sums.on) / perConversion(sums.off)).toFixed(3)} (with / without)`)

    // 2. A large history, written set-wise in slices (the triggers fold each slice into the rollups).
    const end = Math.floor(Date.now() / DAY_MS) * DAY_MS
    const start = end - DAYS * DAY_MS
    const slice = 200_000
    const seeding = Date.now()
    for (let done = 0; done < CLICKS; done += slice) {
      const n = Math.min(slice, CLICKS - done)
      await sql`insert into clicks (clickid, offer_id, affiliate_id, params, ip, created_at)
        select lpad(to_hex(floor(extract(epoch from t))::bigint), 8, '0') || substr(md5(random()::text), 1, 16),
          o, a, jsonb_build_object('sub1', 's' || (1 + floor(random() * 30))::int), '203.0.113.7', t
        from (select to_timestamp((${start} + random() * ${end - start}) / 1000) as t,
          1 + floor(random() * ${OFFERS})::int as o, 1 + floor(power(random(), 2) * ${AFFILIATES})::int as a
          from generate_series(1, ${n}::int)) g
        on conflict do nothing`.execute(db)
      await sql`insert into conversions (clickid, offer_id, affiliate_id, goal, status, revenue, payout, currency, click_params, created_at)
        select c.clickid, c.offer_id, c.affiliate_id, '1', (array['approved', 'pending', 'declined', 'hold'])[1 + floor(random() * 4)::int],
          2.5, 1.25, 'USD', c.params, c.created_at + interval '10 minutes'
        from clicks c tablesample system (10) where c.created_at >= to_timestamp(${start} / 1000.0) limit ${Math.floor(n / 10)}`.execute(db)
    }
    await foldStatistics(db, new Date()) // as the maintenance instance keeps it
    // A database in service is vacuumed: the reports do not run beside the seeding's autovacuum.
    await sql`vacuum analyze`.execute(db)
    const sizes = await sql<{ clicks: number; conversions: number; rollup_clicks: number; rollup_conversions: number; daily_clicks: number; daily_conversions: number }>`
      select (select count(*) from clicks)::int8 as clicks, (select count(*) from conversions)::int8 as conversions,
        (select count(*) from stats_clicks)::int8 as rollup_clicks, (select count(*) from stats_conversions)::int8 as rollup_conversions,
        (select count(*) from stats_daily_clicks)::int8 as daily_clicks, (select count(*) from stats_daily_conversions)::int8 as daily_conversions`.execute(db)
    const size = sizes.rows[0]
    console.log(`seeded in ${((Date.now() - seeding) / 1000).toFixed(0)} s: ${size?.clicks} clicks, ${size?.conversions} conversions; 15-minute rollup rows: ${size?.rollup_clicks} click, ${size?.rollup_conversions} conversion; daily: ${size?.daily_clicks} click, ${size?.daily_conversions} conversion`)

    const lastDay = new Date(end - DAY_MS).toISOString().slice(0, 10)
    const monthAgo = new Date(end - 30 * DAY_MS).toISOString().slice(0, 10)
    const weekAgo = new Date(end - 7 * DAY_MS).toISOString().slice(0, 10)
    const shapes: [string, Record<string, string>][] = [
      ['30 days by day and offer (Asia/Kolkata)', { from: monthAgo, to: lastDay, timezone: 'Asia/Kolkata', group_by: 'day,offer' }],
      ['30 days by day and affiliate (Asia/Kolkata)', { from: monthAgo, to: lastDay, timezone: 'Asia/Kolkata', group_by: 'day,affiliate' }],
      ['7 days by day and sub1, one offer', { from: weekAgo, to: lastDay, group_by: 'day,sub1', offer_id: '7' }],
    ]
    for (const [label, query] of shapes) {
      const times: number[] = []
      let rows = 0
      for (let i = 0; i < RUNS + 2; i++) {
        const started = performance.now()
        const report = await buildReport(db, { timezone: 'UTC', group_by: 'day', ...query, limit: 100 }, 'admin', { limit: 100 })
        if (i >= 2) times.push(performance.now() - started)
        rows = report.rows.length
      }
      times.sort((a, b) => a - b)
      console.log(`${label}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`)
      console.log(`BENCH_ROW ${JSON.stringify({ measure: `${label}, p95 (${rows} rows)`, value: percentile(times, 95).toFixed(1), unit: 'ms' })}`)
    }
  } finally {
    await handle.close()
    // BENCH_STATS_KEEP=1 keeps the database to look into plans (its URL is printed).
    if (process.env.BENCH_STATS_KEEP === '1') console.log(`kept ${database.url}`)
    else await database.drop()
  }
}

if (process.argv[2] === 'serve') {
  // Without the maintenance role: its fold would land in whichever round a bucket ends in, whatever the triggers;
  // the rounds of part 1 count the fold with the writes it folds.
  await serveApp(process.argv[3] as string, {
    logLevel: 'warn',
    env: { STATS_TIME_ZONES: ZONES.join(',') || 'none', SERVICE_ROLES: 'http,dispatcher' },
    setup: (app) => {
      answerCpuQueries()
      answerFlushRequests(app)
    },
  })
} else {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
