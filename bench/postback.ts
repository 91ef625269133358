/**
 * Conversions accepted per second through `GET /postback` on PostgreSQL, beside a bare Fastify JSON answer
 * under the same autocannon load, on 127.0.0.1. Every request carries a distinct click id, so each one creates
 * a conversion, its `created` event and its server-postback log entry (secure code checked, percent payout).
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/postback.js
 *   (or, uncompiled: node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/postback.ts)
 *
 * Each server runs in its own child process; the real one uses a fresh PostgreSQL database (BENCH_PG_URL,
 * default postgres://postgres@127.0.0.1:5432/postgres) and logs at BENCH_LOG_LEVEL (default info: the
 * production request line) to /dev/null. BENCH_CONNECTIONS (50) and BENCH_DURATION (10 s) shape the load; BENCH_NODE_OPTIONS is passed to the servers.
 */
import autocannon, { type Options, type Result } from 'autocannon'
import Fastify from 'fastify'
import pg from 'pg'
import { answerCpuQueries, askCpu, create, freshDatabase, meterDatabaseBackends, serveApp, startChild, stopChild } from './children.js'
import { newClickId } from '../src/domain/click-ids.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const WARMUP_S = 2
/** Click ids prepared in the database; far more than a run can use, so no request repeats one. */
const CLICKS = Number(process.env.BENCH_CLICKS ?? 150_000)
const SECURE = 'bench-secure-code'
/** Conversions and payout caps far above what a run sends: every conversion is judged and counted, none declined. */
const CONVERSION_CAPS = [
  { metric: 'conversions', period: 'day', limit: 1_000_000_000 },
  { metric: 'payout', period: 'month', limit: 99_999_999_999 },
  { metric: 'conversions', period: 'week', limit: 1_000_000_000, per_affiliate: true },
]

async function serveBare (): Promise<void> {
  const app = Fastify()
  let id = 0
  app.get('/postback', async () => ({ status: 1, conversion_id: ++id, conversion_status: 'pending', duplicate: false, status_changed: false }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.send?.({ port: (app.server.address() as { port: number }).port })
  process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

const startServer = (args: string[]) => startChild(import.meta.url, args)
const stopServer = stopChild

/** Autocannon with a fresh path per request, taken from `nextPath`. */
function load (port: number, duration: number, nextPath: () => string): Promise<Result> {
  const options = {
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration,
    // autocannon's per-request hook (not in bench/autocannon.d.ts, which covers the click benchmark's needs).
    requests: [{ method: 'GET', setupRequest: (request: Record<string, unknown>) => ({ ...request, path: nextPath() }) }],
  }
  return autocannon(options as unknown as Options)
}

/** Clicks written straight to the table (the click path has its own benchmark); returns their ids. */
async function prepareClicks (db: pg.Client, offerId: number, affiliateId: number): Promise<string[]> {
  const now = new Date()
  const ids = Array.from({ length: CLICKS }, () => newClickId(now))
  for (let i = 0; i < ids.length; i += 10_000) {
    await db.query(
      `insert into clicks (clickid, offer_id, affiliate_id, params, ip, user_agent, created_at)
       select id, $2, $3, '{"sub1":"aff-123"}', '203.0.113.7', 'BenchAgent/1.0', $4 from unnest($1::text[]) as id`,
      [ids.slice(i, i + 10_000), offerId, affiliateId, now]
    )
  }
  return ids
}

async function count (db: pg.Client, table: string): Promise<number> {
  return Number((await db.query(`select count(*) as n from ${table}`)).rows[0].n)
}

/** Totals read in one snapshot, so a commit landing between two counts cannot skew them. */
async function totals (db: pg.Client): Promise<{ conversions: number; events: number; logged: number }> {
  const row = (await db.query(`select (select count(*) from conversions) as conversions,
    (select count(*) from conversion_events) as events, (select count(*) from server_postbacks) as logged`)).rows[0]
  return { conversions: Number(row.conversions), events: Number(row.events), logged: Number(row.logged) }
}

function line (name: string, result: Result): string {
  const ok = result.statusCodeStats['200']?.count ?? 0
  return `${name.padEnd(14)} ${result.requests.average.toFixed(0).padStart(8)} req/s   p50 ${String(result.latency.p50).padStart(3)} ms   ` +
    `p99 ${String(result.latency.p99).padStart(3)} ms   200s ${ok}   errors ${result.errors}   non-200 ${result.requests.total - ok}`
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  try {
    console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per run (after a ${WARMUP_S} s warm-up), 127.0.0.1`)
    let n = 0
    const bare = await startServer(['serve-bare'])
    const barePath = () => `/postback?clickid=${(n++).toString(16).padStart(24, '0')}&action_id=o${n}&sum=150&secure=${SECURE}`
    await load(bare.port, WARMUP_S, barePath)
    const bareResult = await load(bare.port, DURATION_S, barePath)
    await stopServer(bare.child)

    const real = await startServer(['serve-app', database.url])
    const advertiser = await create(real.port, '/v1/advertisers', { name: 'Bench', secure_code: SECURE })
    const offer = await create(real.port, '/v1/offers', {
      advertiser_id: advertiser.id,
      title: 'Bench',
      url: 'https://adv.example/land?click={clickid}',
      goals: [{ value: '1', title: 'Sale', type: 'percent', revenue: 20, payout: 60 }],
    })
    const affiliate = await create(real.port, '/v1/affiliates', { name: 'Bench', email: 'bench@example.com' })
    const capped = await create(real.port, '/v1/offers', {
      advertiser_id: advertiser.id,
      title: 'Bench capped',
      url: 'https://adv.example/land?click={clickid}',
      goals: [{ value: '1', title: 'Sale', type: 'percent', revenue: 20, payout: 60 }],
      caps: CONVERSION_CAPS,
    })
    const db = new pg.Client({ connectionString: database.url })
    await db.connect()
    const clickids = await prepareClicks(db, offer.id, affiliate.id)
    const cappedClickids = await prepareClicks(db, capped.id, affiliate.id)
    let next = 0
    const pathFor = (ids: string[], prefix: string) => () => {
      const clickid = ids[next++ % ids.length] as string
      return `/postback?clickid=${clickid}&action_id=${prefix}-${next}&sum=150&status=2&secure=${SECURE}&ios_idfa=bench`
    }
    const realPath = pathFor(clickids, 'order')
    /** One measured run: conversions created and the CPU (app, PostgreSQL) they took. */
    const run = async (nextPath: () => string) => {
      await load(real.port, WARMUP_S, nextPath)
      const before = await count(db, 'conversions')
      const appCpuBefore = await askCpu(real.child)
      const pgMeter = await meterDatabaseBackends(database.name)
      const result = await load(real.port, DURATION_S, nextPath)
      const appCpu = (await askCpu(real.child)) - appCpuBefore
      const pgCpu = await pgMeter.stop()
      const created = (await count(db, 'conversions')) - before
      return { result, appCpu, pgCpu, created }
    }
    const first = await run(realPath)
    // The same server, the same run: an offer with conversions and payout caps beside the one without, in
    // alternate rounds so that warming up and the machine's other load weigh on both alike.
    const cappedPath = pathFor(cappedClickids, 'capped')
    const cappedFirst = await run(cappedPath)
    const second = await run(realPath)
    const cappedSecond = await run(cappedPath)
    const sum = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b)
    const { result } = first
    const appCpu = first.appCpu + second.appCpu
    const pgCpuTotal = sum(first.pgCpu, second.pgCpu)
    const created = first.created + second.created
    const cappedRun = {
      result: cappedFirst.result,
      appCpu: cappedFirst.appCpu + cappedSecond.appCpu,
      pgCpu: sum(cappedFirst.pgCpu, cappedSecond.pgCpu),
      created: cappedFirst.created + cappedSecond.created,
    }
    // Requests still in flight when the run stops finish before the server exits.
    await stopServer(real.child)
    const { conversions, events, logged } = await totals(db)
    await db.end()

    console.log(line('bare JSON', bareResult))
    console.log(line('/postback', result))
    const perSecond = first.created / DURATION_S
    console.log(`conversions accepted: ${first.created} in ${DURATION_S} s = ${perSecond.toFixed(0)}/s (target >= 1500); ` +
      `ratio to bare ${(result.requests.average / bareResult.requests.average).toFixed(2)}`)
    const perConversion = (cpu: number | null, n: number) => (cpu === null ? null : cpu / Math.max(1, n))
    const micros = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(0)} µs`)
    const app = perConversion(appCpu, created)
    const pgPer = perConversion(pgCpuTotal, created)
    const cappedApp = perConversion(cappedRun.appCpu, cappedRun.created)
    const cappedPg = perConversion(cappedRun.pgCpu, cappedRun.created)
    // CPU per conversion moves less than throughput on a shared machine.
    console.log(`CPU per conversion: app ${micros(app)}, PostgreSQL ${micros(pgPer)} (the backends of its database)`)
    console.log(line('/postback caps', cappedRun.result))
    console.log(`CPU per conversion with ${CONVERSION_CAPS.length} caps: app ${micros(cappedApp)}, PostgreSQL ${micros(cappedPg)}; ` +
      `${cappedFirst.created} conversions in ${DURATION_S} s = ${(cappedFirst.created / DURATION_S).toFixed(0)}/s (CPU over two rounds each)`)
    const both = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b)
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? 'n/a' : (a / b).toFixed(2))
    console.log(`caps CPU ratio ${ratio(both(cappedApp, cappedPg), both(app, pgPer))} (app + PostgreSQL CPU per conversion with caps / without; ` +
      `app alone ${ratio(cappedApp, app)}; target <= 1.05)`)
    console.log(`totals: ${conversions} conversions, ${events} events, ${logged} server-postback entries` +
      (next > clickids.length ? ' (click ids wrapped: later requests were duplicates)' : ''))
    if (events !== conversions || logged < conversions) process.exitCode = 1
  } finally {
    await database.drop()
  }
}

const mode = process.argv[2]
if (mode === 'serve-bare') await serveBare()
else if (mode === 'serve-app') await serveApp(process.argv[3] as string, { logLevel: 'info', setup: answerCpuQueries })
else await main()
