/**
 * Costs that stay flat as data grows (§8): the database work of recording clicks and of intake's click
 * lookups on an empty database and on one that already holds BENCH_SCALE_CLICKS clicks (10M) spread over 60
 * days, in the same run, with the service's own statements (src/clicks/repository.ts insertClicks, the
 * intake's findClicksWithCatalogVersion). It prints PostgreSQL backend CPU per click written and per click
 * looked up on each, their ratio (target within 1.25), bytes per click on disk, and how long dropping a month
 * of clicks takes. The backends' CPU is read from /proc, so other work on the machine barely moves it.
 *
 *   npm run bench -- scale            BENCH_SCALE_CLICKS=1000000 npm run bench -- scale   (a quicker look)
 */
import { readFileSync } from 'node:fs'
import pg from 'pg'
import pino from 'pino'
import { clickMonth, clickMonthsBetween, dropClickPartitionsBefore, makeClickPartitions } from '../src/clicks/partitions.js'
import { insertClicks, type ClickRecord } from '../src/clicks/repository.js'
import { findClicksWithCatalogVersion } from '../src/conversions/repository.js'
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

interface Figures { writeMicros: number; lookupMicros: number; found: number }

/** The measured work: BATCHES batches of clicks now, then LOOKUPS lookups of LOOKUP_BATCH ids sampled from the table. */
async function measure (handle: DatabaseHandle, admin: pg.Client, database: string, client: pg.Client): Promise<Figures> {
  const before = await backendsCpuMicros(admin, database)
  for (let i = 0; i < BATCHES; i++) await insertClicks(handle.db, clicksAt(new Date(), BATCH))
  const written = await backendsCpuMicros(admin, database)
  // As autovacuum would have by now: a partition's statistics tell the planner to probe its index.
  await client.query('analyze clicks')
  const { rows } = await client.query<{ clickid: string }>(
    `select clickid from clicks tablesample system (1) limit ${LOOKUPS * LOOKUP_BATCH}`)
  const ids = rows.map((row) => row.clickid)
  const beforeLookups = await backendsCpuMicros(admin, database)
  if (ids.length === 0) throw new Error('no clicks sampled')
  let found = 0
  for (let i = 0; i + LOOKUP_BATCH <= ids.length; i += LOOKUP_BATCH) {
    found += (await findClicksWithCatalogVersion(handle.db, ids.slice(i, i + LOOKUP_BATCH))).size
  }
  const looked = await backendsCpuMicros(admin, database)
  return {
    writeMicros: (written - before) / (BATCHES * BATCH),
    lookupMicros: (looked - beforeLookups) / Math.max(1, found),
    found,
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

    const started = Date.now()
    await fill(fullClient, FILL)
    const filled = Number((await fullClient.query('select count(*) as n from clicks')).rows[0].n)
    console.log(`filled: ${filled} clicks over ${DAYS} days in ${((Date.now() - started) / 1000).toFixed(0)} s`)

    // Twice each, alternating, so a slow phase of the machine falls on both.
    const runs: Array<{ empty: Figures; full: Figures }> = []
    for (let round = 0; round < 2; round++) {
      runs.push({ empty: await measure(emptyHandle, admin, empty.name, emptyClient), full: await measure(fullHandle, admin, full.name, fullClient) })
    }
    const mean = (pick: (f: { empty: Figures; full: Figures }) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length
    const writeEmpty = mean((r) => r.empty.writeMicros)
    const writeFull = mean((r) => r.full.writeMicros)
    const lookupEmpty = mean((r) => r.empty.lookupMicros)
    const lookupFull = mean((r) => r.full.lookupMicros)
    console.log(`click write, PostgreSQL CPU per click: empty ${writeEmpty.toFixed(1)} µs, ${filled} clicks ${writeFull.toFixed(1)} µs; ` +
      `scale ratio ${(writeFull / writeEmpty).toFixed(2)} (full / empty; target <= 1.25)`)
    console.log(`click lookup by intake, PostgreSQL CPU per click: empty ${lookupEmpty.toFixed(1)} µs, ${filled} clicks ${lookupFull.toFixed(1)} µs; ` +
      `scale ratio ${(lookupFull / lookupEmpty).toFixed(2)} (full / empty; target <= 1.25)`)

    const size = Number((await fullClient.query('select sum(pg_total_relation_size(i.inhrelid)) as bytes from pg_inherits i where i.inhparent = \'clicks\'::regclass')).rows[0].bytes)
    const total = Number((await fullClient.query('select count(*) as n from clicks')).rows[0].n)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'bytes per click on disk (table and indexes)', value: Math.round(size / total), unit: 'B' })}`)

    const oldest = clickMonth(new Date(Date.now() - DAYS * DAY_MS))
    const inOldest = Number((await fullClient.query(`select count(*) as n from ${oldest.name}`)).rows[0].n)
    const dropStarted = performance.now()
    await dropClickPartitionsBefore(fullHandle.db, oldest.to)
    const dropMs = performance.now() - dropStarted
    console.log(`BENCH_ROW ${JSON.stringify({ measure: `dropping a month of clicks (${inOldest} rows)`, value: Math.round(dropMs), unit: 'ms' })}`)
  } finally {
    for (const client of clients) await client.end().catch(() => {})
    for (const handle of handles) await handle.close().catch(() => {})
    await empty.drop()
    await full.drop()
    await admin.end()
  }
}

await main()
