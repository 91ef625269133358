/**
 * Costs that stay flat as data grows (§8): the database work of the service's own statements on an empty
 * database and on one that already holds BENCH_SCALE_CLICKS clicks (10M) spread over 60 days, a tenth as many
 * conversions (each with its event, its intake-log row and two delivered postbacks with their attempts: 1M
 * conversions, 2M deliveries), in the same run:
 * - recording clicks (src/clicks/repository.ts insertClicks) and intake's click lookups
 *   (findClicksWithCatalogVersion);
 * - creating conversions with their events and log rows, and firing their postbacks (insertConversions and
 *   writeDeliveries, as the intake's batch writer calls them, 25 per transaction);
 * - delivering: the dispatcher's claim and the record of the attempts (claimDue, recordAttempts).
 * It prints PostgreSQL backend CPU per unit on each database, their ratio (target within 1.25), bytes per click
 * on disk, and how long retention's removal of a month of clicks locks `clicks` (and how long it takes in all). The backends' CPU is read from /proc, so other work on
 * the machine barely moves it.
 *
 *   npm run bench -- scale            BENCH_SCALE_CLICKS=1000000 npm run bench -- scale   (a quicker look)
 */
import { readFileSync } from 'node:fs'
import pg from 'pg'
import pino from 'pino'
import { clickMonth, clickMonthsBetween, dropRetiredClickPartitions, makeClickPartitions, retireClickPartitionsBefore } from '../src/clicks/partitions.js'
import { insertClicks, type ClickRecord } from '../src/clicks/repository.js'
import { findClicksWithCatalogVersion, insertConversions, type NewConversionEntry } from '../src/conversions/repository.js'
import { writeDeliveries } from '../src/affiliate-postbacks/enqueue.js'
import { claimDue, recordAttempts } from '../src/dispatch/repository.js'
import { conversionRow } from '../test/helpers/seeds.js'
import { openDatabase, type DatabaseHandle } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { newClickId } from '../src/domain/click-ids.js'
import { freshDatabase, PG_ADMIN_URL } from './children.js'

const FILL = Number(process.env.BENCH_SCALE_CLICKS ?? 10_000_000)
const DAYS = 60
const BATCHES = Number(process.env.BENCH_SCALE_BATCHES ?? 200)
const BATCH = 500
const LOOKUPS = Number(process.env.BENCH_SCALE_LOOKUPS ?? 400)
const LOOKUP_BATCH = 25
const CONVERSIONS = Number(process.env.BENCH_SCALE_CONVERSIONS ?? Math.round(FILL / 10))
const CONVERSION_BATCHES = Number(process.env.BENCH_SCALE_CONVERSION_BATCHES ?? 80)
const CONVERSION_BATCH = 25
const OFFERS = 20
const AFFILIATES = 50
const DAY_MS = 86_400_000

/** CPU time (user + system) of every backend connected to `database`, in µs (USER_HZ is 100). */
async function backendsCpuMicros (admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database])
  let ticks = 0
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks * 10_000
}

function clicksAt (at: Date, count: number): ClickRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    clickid: newClickId(at),
    offer_id: 1 + (i % 20),
    affiliate_id: 1 + (i % 50),
    tracking_link_id: null,
    params: { sub1: `s${i % 1000}`, sub2: 'campaign-7' },
    ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (Linux; Android 14) BenchAgent/1.0',
    referrer: null,
    created_at: at,
  }))
}

/** Fills the clicks table with `count` clicks spread evenly over the last DAYS days, a day per statement. */
async function fill (client: pg.Client, count: number): Promise<void> {
  const perDay = Math.ceil(count / DAYS)
  const now = Date.now()
  for (let day = DAYS; day >= 1; day--) {
    const start = new Date(now - day * DAY_MS)
    await client.query(
      `insert into clicks (clickid, offer_id, affiliate_id, params, ip, user_agent, created_at)
       select lpad(to_hex(floor(extract(epoch from at))::bigint), 8, '0') || substr(md5(random()::text), 1, 16),
         1 + g % 20, 1 + g % 50, jsonb_build_object('sub1', 's' || g % 1000, 'sub2', 'campaign-7'), '203.0.113.7',
         'Mozilla/5.0 (Linux; Android 14) BenchAgent/1.0', at
       from generate_series(0, $2::int - 1) g, lateral (select $1::timestamptz + (g * (86400.0 / $2)) * interval '1 second' as at) t`,
      [start, perDay]
    )
  }
  await client.query('analyze clicks')
}

/** The catalog the conversions name (offers and affiliates are foreign keys), and a global postback per affiliate. */
async function catalog (client: pg.Client): Promise<void> {
  await client.query('insert into advertisers (name) values (\'Bench advertiser\')')
  await client.query(`insert into offers (advertiser_id, title, url) select 1, 'Offer ' || g, 'https://adv.example/?c={clickid}' from generate_series(1, ${OFFERS}) g`)
  await client.query('insert into offer_goals (offer_id, position, value, title, type, revenue, payout) select id, 0, \'1\', \'Sale\', \'fixed\', 2.5, 1.25 from offers')
  await client.query(`insert into affiliates (name, email, api_key_hash) select 'Aff ' || g, 'a' || g || '@bench.example', md5(g::text) from generate_series(1, ${AFFILIATES}) g`)
  await client.query('insert into postbacks (affiliate_id, url) select id, \'https://aff\' || id || \'.example/pb?c={clickid}&s={status}\' from affiliates')
  await client.query(`insert into postbacks (affiliate_id, offer_id, url) select a.id, o.id, 'https://aff' || a.id || '.example/local?c={clickid}' from affiliates a, offers o where o.id = 1 + a.id % ${OFFERS}`)
}

/**
 * `count` conversions over the last DAYS days, as intake leaves them: each with its creation event and its
 * intake-log row, two delivered deliveries with one attempt each; a fifth also changed status once.
 */
async function fillConversions (client: pg.Client, count: number): Promise<void> {
  const perDay = Math.ceil(count / DAYS)
  const now = Date.now()
  for (let day = DAYS; day >= 1; day--) {
    const start = new Date(now - day * DAY_MS)
    await client.query(
      `with c as (
         insert into conversions (clickid, offer_id, affiliate_id, goal, action_id, click_dedup_key, status, revenue, payout, currency,
           click_params, click_created_at, created_at, updated_at)
         select id, 1 + g % ${OFFERS}, 1 + g % ${AFFILIATES}, '1', case when g % 2 = 0 then 'tx-' || id end,
           case when g % 2 = 1 then id end, 'approved', 2.5, 1.25, 'USD', '{"sub1":"s1"}', at, at, at
         from generate_series(0, $2::int - 1) g,
           lateral (select $1::timestamptz + (g * (86400.0 / $2)) * interval '1 second' as at) t,
           lateral (select lpad(to_hex(floor(extract(epoch from at))::bigint), 8, '0') || substr(md5(g::text || random()::text), 1, 16) as id) i
         returning id, clickid, offer_id, affiliate_id, created_at),
       e as (
         insert into conversion_events (conversion_id, kind, from_status, to_status, source, created_at)
         select id, 'created', null, 'approved', 'advertiser', created_at from c
         returning id, conversion_id, created_at),
       l as (
         insert into server_postbacks (received_at, method, params, result, http_status, conversion_id, offer_id, clickid)
         select created_at, 'GET', jsonb_build_object('clickid', clickid), 'accepted', 200, id, offer_id, clickid from c),
       d as (
         insert into postback_deliveries (postback_id, conversion_id, event_id, affiliate_id, method, url, state, attempts,
           last_http_code, created_at, updated_at, delivered_at)
         select p.id, c.id, e.id, c.affiliate_id, 'GET', 'https://aff.example/pb?c=' || c.clickid, 'delivered', 1, 200,
           c.created_at, c.created_at, c.created_at
         from c join e on e.conversion_id = c.id join postbacks p on p.affiliate_id = c.affiliate_id
         returning id, created_at)
       insert into postback_attempts (delivery_id, n, at, http_code, duration_ms, response_body)
       select id, 1, created_at, 200, 40, 'ok' from d`,
      [start, perDay]
    )
  }
  await client.query(`insert into conversion_events (conversion_id, kind, from_status, to_status, source, created_at)
    select id, 'status_changed', 'pending', 'approved', 'advertiser', created_at from conversions where id % 5 = 0`)
  await client.query('analyze')
}

interface Figures { write: Cpu; lookup: Cpu; conversion: Cpu; delivery: Cpu }

function conversionEntries (at: Date, count: number): NewConversionEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const clickid = newClickId(at)
    const offerId = 1 + (i % OFFERS)
    return {
      values: conversionRow({
        clickid,
        offer_id: offerId,
        affiliate_id: 1 + (i % AFFILIATES),
        click_dedup_key: clickid,
        status: 'approved',
        revenue: '2.5000',
        payout: '1.2500',
        click_params: '{"sub1":"s1"}',
        click_created_at: at,
      }),
      log: { method: 'GET', params: { clickid }, offerId, clickid },
    }
  })
}

/** Conversions as the intake's batch writer makes them: created with their events and log rows, postbacks fired. */
async function writeConversions (handle: DatabaseHandle): Promise<number> {
  let deliveries = 0
  for (let i = 0; i < CONVERSION_BATCHES; i++) {
    await handle.db.transaction().execute(async (trx) => {
      const { created, postbacks } = await insertConversions(trx, conversionEntries(new Date(), CONVERSION_BATCH))
      const rows = created.flatMap((c) => c === undefined
        ? []
        : [{ ...c.conversion, offer_title: c.offerTitle, event_id: c.eventId, kind: 'created' as const, to_status: c.conversion.status }])
      deliveries += await writeDeliveries(trx, rows, postbacks)
    })
  }
  return deliveries
}

/** The dispatcher's database work for every pending delivery: claimed in batches, each recorded delivered. */
async function deliverPending (handle: DatabaseHandle): Promise<number> {
  const health = { disableAfter: 50, disableMinAgeMs: 86_400_000, now: () => new Date() }
  let delivered = 0
  for (;;) {
    const claimed = await claimDue(handle.db, { holder: 'bench', leaseMs: 60_000, limit: 50, lane: 'first', skipOrigins: [] })
    if (claimed.length === 0) return delivered
    await recordAttempts(handle.db, claimed.map((row) => ({
      deliveryId: row.id,
      holder: 'bench',
      outcome: { at: new Date(), httpCode: 200, durationMs: 30, responseBody: 'ok', error: null, ok: true, refused: false },
      decision: { state: 'delivered', retryInMs: null, keepCancelled: false },
    })), health)
    delivered += claimed.length
  }
}

/** CPU of one phase: PostgreSQL's backends (from /proc) and this process, which runs the service's own code. */
interface Cpu { pg: number; app: number }

async function cpuOf (admin: pg.Client, database: string, work: () => Promise<void>): Promise<Cpu> {
  const pgBefore = await backendsCpuMicros(admin, database)
  const appBefore = process.cpuUsage()
  await work()
  const app = process.cpuUsage(appBefore)
  return { pg: await backendsCpuMicros(admin, database) - pgBefore, app: app.user + app.system }
}

const per = (cpu: Cpu, units: number): Cpu => ({ pg: cpu.pg / Math.max(1, units), app: cpu.app / Math.max(1, units) })

/** The measured work: BATCHES batches of clicks now, then LOOKUPS lookups of LOOKUP_BATCH ids sampled from the table. */
async function measure (handle: DatabaseHandle, admin: pg.Client, database: string, client: pg.Client): Promise<Figures> {
  const written = await cpuOf(admin, database, async () => {
    for (let i = 0; i < BATCHES; i++) await insertClicks(handle.db, clicksAt(new Date(), BATCH))
  })
  // As autovacuum would have by now: a partition's statistics tell the planner to probe its index.
  await client.query('analyze clicks')
  const { rows } = await client.query<{ clickid: string }>(
    `select clickid from clicks tablesample system (1) limit ${LOOKUPS * LOOKUP_BATCH}`)
  const ids = rows.map((row) => row.clickid)
  if (ids.length === 0) throw new Error('no clicks sampled')
  let found = 0
  const looked = await cpuOf(admin, database, async () => {
    for (let i = 0; i + LOOKUP_BATCH <= ids.length; i += LOOKUP_BATCH) {
      found += (await findClicksWithCatalogVersion(handle.db, ids.slice(i, i + LOOKUP_BATCH))).size
    }
  })
  let deliveries = 0
  const converted = await cpuOf(admin, database, async () => { deliveries = await writeConversions(handle) })
  let delivered = 0
  const sent = await cpuOf(admin, database, async () => { delivered = await deliverPending(handle) })
  if (delivered !== deliveries) throw new Error(`${deliveries} deliveries written, ${delivered} delivered`)
  return {
    write: per(written, BATCHES * BATCH),
    lookup: per(looked, found),
    conversion: per(converted, CONVERSION_BATCHES * CONVERSION_BATCH),
    delivery: per(sent, delivered),
  }
}

async function prepared (url: string): Promise<DatabaseHandle> {
  const log = pino({ level: 'silent' })
  const handle = await openDatabase({ databaseUrl: url, dataDir: null }, log)
  await migrateToLatest(handle.db, log)
  const now = Date.now()
  await makeClickPartitions(handle.db, clickMonthsBetween(new Date(now - (DAYS + 1) * DAY_MS), new Date(now + 31 * DAY_MS)))
  return handle
}

async function main (): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  const empty = await freshDatabase()
  const full = await freshDatabase()
  const handles: DatabaseHandle[] = []
  const clients: pg.Client[] = []
  try {
    const emptyHandle = await prepared(empty.url)
    const fullHandle = await prepared(full.url)
    handles.push(emptyHandle, fullHandle)
    const emptyClient = new pg.Client({ connectionString: empty.url })
    const fullClient = new pg.Client({ connectionString: full.url })
    clients.push(emptyClient, fullClient)
    await emptyClient.connect()
    await fullClient.connect()
    await catalog(emptyClient)
    await catalog(fullClient)

    const started = Date.now()
    await fill(fullClient, FILL)
    const filled = Number((await fullClient.query('select count(*) as n from clicks')).rows[0].n)
    await fillConversions(fullClient, CONVERSIONS)
    const counts = (await fullClient.query(`select (select count(*) from conversions) as conversions,
      (select count(*) from postback_deliveries) as deliveries`)).rows[0]
    console.log(`filled: ${filled} clicks, ${counts.conversions} conversions, ${counts.deliveries} deliveries over ${DAYS} days ` +
      `in ${((Date.now() - started) / 1000).toFixed(0)} s`)

    // Twice each, alternating, so a slow phase of the machine falls on both.
    const runs: Array<{ empty: Figures; full: Figures }> = []
    for (let round = 0; round < 2; round++) {
      runs.push({ empty: await measure(emptyHandle, admin, empty.name, emptyClient), full: await measure(fullHandle, admin, full.name, fullClient) })
    }
    const report = (what: string, unit: string, pick: (f: Figures) => Cpu) => {
      for (const side of ['pg', 'app'] as const) {
        const empty = runs.reduce((sum, run) => sum + pick(run.empty)[side], 0) / runs.length
        const full = runs.reduce((sum, run) => sum + pick(run.full)[side], 0) / runs.length
        const who = side === 'pg' ? 'PostgreSQL' : 'service'
        console.log(`${what}, ${who} CPU per ${unit}: empty ${empty.toFixed(1)} µs, full ${full.toFixed(1)} µs; ` +
          `scale ratio ${(full / empty).toFixed(2)} (full / empty; target <= 1.25)`)
      }
    }
    report('click write', 'click', (f) => f.write)
    report('click lookup by intake', 'click', (f) => f.lookup)
    report('conversion created and its postbacks fired', 'conversion', (f) => f.conversion)
    report('delivery claimed and recorded', 'delivery', (f) => f.delivery)

    const size = Number((await fullClient.query('select sum(pg_total_relation_size(i.inhrelid)) as bytes from pg_inherits i where i.inhparent = \'clicks\'::regclass')).rows[0].bytes)
    const total = Number((await fullClient.query('select count(*) as n from clicks')).rows[0].n)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'bytes per click on disk (table and indexes)', value: Math.round(size / total), unit: 'B' })}`)

    const oldest = clickMonth(new Date(Date.now() - DAYS * DAY_MS))
    const inOldest = Number((await fullClient.query(`select count(*) as n from ${oldest.name}`)).rows[0].n)
    // Retention's two steps: what holds clicks' lock (detaching the month), then removing the detached table's files.
    const retireStarted = performance.now()
    await retireClickPartitionsBefore(fullHandle.db, oldest.to)
    const retireMs = performance.now() - retireStarted
    await dropRetiredClickPartitions(fullHandle.db)
    const dropMs = performance.now() - retireStarted - retireMs
    console.log(`BENCH_ROW ${JSON.stringify({ measure: `retiring a month of clicks (${inOldest} rows): clicks locked`, value: Math.round(retireMs), unit: 'ms' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'then dropping the retired month (nothing else locked)', value: Math.round(dropMs), unit: 'ms' })}`)
  } finally {
    for (const client of clients) await client.end().catch(() => {})
    for (const handle of handles) await handle.close().catch(() => {})
    await empty.drop()
    await full.drop()
    await admin.end()
  }
}

await main()
