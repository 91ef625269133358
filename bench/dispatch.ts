/**
 * End to end through the dispatcher: conversions posted to `GET /postback` on PostgreSQL, each firing two
 * affiliate postbacks to a local sink. Prints deliveries per second and the time from a conversion's
 * acceptance (its 200 from /postback) to each postback's arrival at the sink, p50/p99, beside the raw
 * throughput of undici sending straight to the same sink in the same run (same agent settings).
 * End to end, intake sets the pace; a second phase therefore measures the dispatcher alone: BENCH_BACKLOG
 * (10,000) deliveries written at once, and how fast they reach the sink.
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/dispatch.js
 *   (or, uncompiled: node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/dispatch.ts)
 *
 * The app and the sink each run in a child process; the app on a fresh PostgreSQL database (BENCH_PG_URL,
 * default postgres://postgres@127.0.0.1:5432/postgres). BENCH_DURATION (10 s) is how long conversions are
 * posted; BENCH_INTAKE_CONCURRENCY (16) how many /postback requests are in flight: kept under the app's 20
 * pooled connections, since beyond that intake and dispatcher both queue for a connection and the latency
 * measured is the pool's; BENCH_POSTBACK_CONCURRENCY (64) the app's POSTBACK_CONCURRENCY.
 */
import type { ChildProcess } from 'node:child_process'
import http from 'node:http'
import pg from 'pg'
import { ADMIN_KEY, answerCpuQueries, api, askCpu, freshDatabase, postgresCpuMicros, serveApp, startChild, stopChild } from './children.js'
import { Agent, request } from 'undici'
import { Dispatcher } from '../src/dispatch/dispatcher.js'
import { newClickId } from '../src/domain/click-ids.js'

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const INTAKE_CONCURRENCY = Number(process.env.BENCH_INTAKE_CONCURRENCY ?? 16)
const POSTBACK_CONCURRENCY = Number(process.env.BENCH_POSTBACK_CONCURRENCY ?? 64)
/** Far more click ids than a run can use, so every postback creates a conversion. */
const CLICKS = Number(process.env.BENCH_CLICKS ?? 100_000)
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000)

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
const now = () => performance.timeOrigin + performance.now()

type SinkReport = { arrivals: [conversionId: number, at: number][]; raw: number }

/** The receiver: answers 200 at once and notes when each postback arrived. */
async function serveSink (): Promise<void> {
  const arrivals: [number, number][] = []
  let raw = 0
  const server = http.createServer((req, res) => {
    const at = now()
    req.resume()
    req.on('end', () => {
      const url = req.url ?? ''
      if (url.startsWith('/raw')) raw++
      else arrivals.push([Number(/[?&]c=(\d+)/.exec(url)?.[1] ?? 0), at])
      res.end('ok')
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }))
  process.on('message', (message: string) => {
    if (message === 'report') process.send?.({ arrivals: arrivals.splice(0), raw } satisfies SinkReport)
  })
  process.on('SIGTERM', () => process.exit(0))
}

const startChildOfThis = (args: string[]) => startChild(import.meta.url, args)

function sinkReport (sink: ChildProcess): Promise<SinkReport> {
  return new Promise((resolve) => {
    sink.once('message', (message: SinkReport) => resolve(message))
    sink.send('report')
  })
}

/** Through the postbacks API when it is there; else the row it would write. */
async function createPostback (port: number, db: pg.Client, affiliateId: number, offerId: number, url: string): Promise<void> {
  const created = await api(port, `/v1/affiliates/${affiliateId}/postbacks`, { offer_id: offerId, url })
  if (created.status === 201) return
  if (created.status !== 404) throw new Error(`postback: ${created.status}`)
  await db.query('insert into postbacks (affiliate_id, offer_id, url) values ($1, $2, $3)', [affiliateId, offerId, url])
}

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

/** Runs `worker` on `concurrency` loops until the deadline; returns how many calls completed. */
async function closedLoop (concurrency: number, seconds: number, worker: () => Promise<void>): Promise<number> {
  const deadline = now() + seconds * 1000
  let done = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (now() < deadline) {
      await worker()
      done++
    }
  }))
  return done
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  const sink = await startChildOfThis(['serve-sink'])
  const sinkOrigin = `http://127.0.0.1:${sink.port}`
  try {
    // Raw undici: the dispatcher's agent settings (connections per origin), the same requests in flight.
    // Measured before the app starts and again after it stopped: the ratio uses their mean, so a machine
    // that speeds up or slows down over the run does not tilt it either way.
    const measureRaw = async (): Promise<number> => {
      const agent = new Agent({ connections: Dispatcher.connectionsPerOrigin(POSTBACK_CONCURRENCY), keepAliveTimeout: 4_000 })
      const rawSend = async () => {
        const res = await request(`${sinkOrigin}/raw?c=0`, { dispatcher: agent, headers: { 'user-agent': 'bench' } })
        await res.body.dump()
      }
      await closedLoop(POSTBACK_CONCURRENCY, 1, rawSend)
      const rawStarted = now()
      const rawCount = await closedLoop(POSTBACK_CONCURRENCY, DURATION_S, rawSend)
      const perSecond = rawCount / ((now() - rawStarted) / 1000)
      await agent.close()
      return perSecond
    }
    const rawBefore = await measureRaw()

    const app = await startChildOfThis(['serve-app', database.url])
    const db = new pg.Client({ connectionString: database.url })
    await db.connect()
    const advertiser = await api(app.port, '/v1/advertisers', { name: 'Bench' })
    const offer = await api(app.port, '/v1/offers', {
      advertiser_id: advertiser.id,
      title: 'Bench offer',
      url: 'https://adv.example/land?click={clickid}',
      goals: [{ value: '1', title: 'Sale', type: 'fixed', revenue: 10, payout: 7.5 }],
    })
    const affiliate = await api(app.port, '/v1/affiliates', { name: 'Bench', email: `bench-${database.name}@example.com` })
    await createPostback(app.port, db, affiliate.id, offer.id, `${sinkOrigin}/a?c={conversion_id}&click={sub1}&sum={sum}&status={status}`)
    await createPostback(app.port, db, affiliate.id, offer.id, `${sinkOrigin}/b?c={conversion_id}&tx={transactionid}&date={date}`)
    const clickids = await prepareClicks(db, offer.id, affiliate.id)

    const intake = new Agent({ connections: INTAKE_CONCURRENCY, keepAliveTimeout: 10_000 })
    const accepted = new Map<number, number>()
    let next = 0
    let rejected = 0
    const postConversion = async () => {
      const i = next++
      const clickid = clickids[i % clickids.length] as string
      const res = await request(`http://127.0.0.1:${app.port}/postback?clickid=${clickid}&action_id=order-${i}&status=1`, { dispatcher: intake })
      const body = (await res.body.json()) as { conversion_id?: number }
      if (res.statusCode === 200 && body.conversion_id !== undefined) accepted.set(body.conversion_id, now())
      else rejected++
    }
    // Warm-up (JIT, pools, connections), then a clean sheet.
    await closedLoop(INTAKE_CONCURRENCY, 2, postConversion)
    const warmDeadline = now() + 30_000
    while (now() < warmDeadline) {
      const pending = await db.query('select count(*) as n from postback_deliveries where state = \'pending\'')
      if (Number(pending.rows[0].n) === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await sinkReport(sink.child) // discards the warm-up's arrivals
    accepted.clear()

    const started = now()
    await closedLoop(INTAKE_CONCURRENCY, DURATION_S, postConversion)
    const intakeSeconds = (now() - started) / 1000
    const expected = accepted.size * 2
    const arrivals: [number, number][] = []
    const drainDeadline = now() + 60_000
    while (arrivals.length < expected && now() < drainDeadline) {
      arrivals.push(...(await sinkReport(sink.child)).arrivals.filter(([c]) => accepted.has(c)))
      if (arrivals.length < expected) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const lastArrival = Math.max(...arrivals.map(([, at]) => at))
    const latencies = arrivals.map(([c, at]) => at - (accepted.get(c) as number)).sort((a, b) => a - b)
    const deliveriesPerSecond = arrivals.length / ((lastArrival - started) / 1000)
    const failed = await db.query('select count(*) as n from postback_deliveries where state <> \'delivered\'')
    await intake.close()

    // The dispatcher alone: a backlog written in one statement (as a burst of intake would leave it).
    const postbackId = (await db.query('select min(id) as id from postbacks')).rows[0].id as number
    let backlogs = 0
    const drainBacklog = async () => {
      const firstEvent = backlogs++ * BACKLOG
      // The clock starts when the backlog is committed (the dispatcher cannot see it before); writing it is
      // intake's work, timed apart. The NOTIFY that follows wakes the dispatcher as intake's own statement does.
      const insertStarted = now()
      await db.query(
        `insert into postback_deliveries (postback_id, conversion_id, event_id, affiliate_id, method, url, state, next_attempt_at)
         select $1, 0, -($5::int + g), $2, 'GET', $3 || g, 'pending', now() from generate_series(1, $4::int) g`,
        [postbackId, affiliate.id, `${sinkOrigin}/backlog?c=`, BACKLOG, firstEvent]
      )
      const appCpuBefore = await askCpu(app.child)
      const pgCpuBefore = postgresCpuMicros()
      const backlogStarted = now()
      const insertMs = backlogStarted - insertStarted
      await db.query('select pg_notify(\'s2s_deliveries\', \'\')')
      let drained = 0
      let lastBacklogArrival = backlogStarted
      const backlogDeadline = now() + 120_000
      while (drained < BACKLOG && now() < backlogDeadline) {
        const report = await sinkReport(sink.child)
        drained += report.arrivals.length
        for (const [, at] of report.arrivals) lastBacklogArrival = Math.max(lastBacklogArrival, at)
        if (drained < BACKLOG) await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const perSecond = drained / ((lastBacklogArrival - backlogStarted) / 1000)
      const appCpu = ((await askCpu(app.child)) - appCpuBefore) / Math.max(1, drained)
      const pgCpuAfter = postgresCpuMicros()
      const pgCpu = pgCpuBefore === null || pgCpuAfter === null ? null : (pgCpuAfter - pgCpuBefore) / Math.max(1, drained)
      return { insertMs, drained, perSecond, appCpu, pgCpu }
    }
    // Unsigned, then signed (Standard Webhooks, one secret), then both once more: the CPU per delivery of each
    // kind is the mean of its two runs, so a machine that drifts over the run tilts neither.
    const unsigned = await drainBacklog()
    const secret = await api(app.port, `/v1/affiliates/${affiliate.id}/signing-secret`, {}) as { status: number; secret?: unknown }
    if (secret.status !== 200 || typeof secret.secret !== 'string') throw new Error(`signing secret: ${secret.status}`)
    const signed = await drainBacklog()
    await fetch(`http://127.0.0.1:${app.port}/v1/affiliates/${affiliate.id}/signing-secret`, { method: 'DELETE', headers: { 'api-key': ADMIN_KEY } })
    const unsignedAgain = await drainBacklog()
    await api(app.port, `/v1/affiliates/${affiliate.id}/signing-secret`, {})
    const signedAgain = await drainBacklog()
    const insertMs = unsigned.insertMs
    const drained = unsigned.drained
    const backlogPerSecond = unsigned.perSecond
    const appCpuPerDelivery = unsigned.appCpu
    const pgCpuPerDelivery = unsigned.pgCpu
    const mean = (a: number | null, b: number | null) => (a === null || b === null ? null : (a + b) / 2)
    const cpuUnsigned = { app: (unsigned.appCpu + unsignedAgain.appCpu) / 2, pg: mean(unsigned.pgCpu, unsignedAgain.pgCpu) }
    const cpuSigned = { app: (signed.appCpu + signedAgain.appCpu) / 2, pg: mean(signed.pgCpu, signedAgain.pgCpu) }
    await db.end()
    await stopChild(app.child)
    const rawAfter = await measureRaw()
    const rawPerSecond = (rawBefore + rawAfter) / 2

    const ratio = deliveriesPerSecond / rawPerSecond
    const p50 = percentile(latencies, 50)
    const p99 = percentile(latencies, 99)
    console.log(`intake: ${INTAKE_CONCURRENCY} /postback requests in flight for ${DURATION_S} s; POSTBACK_CONCURRENCY=${POSTBACK_CONCURRENCY}; 127.0.0.1`)
    console.log(`raw undici to the sink:   ${rawPerSecond.toFixed(0).padStart(7)} req/s (${POSTBACK_CONCURRENCY} in flight; ` +
      `${rawBefore.toFixed(0)} before the app ran, ${rawAfter.toFixed(0)} after)`)
    console.log(`conversions accepted:     ${(accepted.size / intakeSeconds).toFixed(0).padStart(7)} /s (${accepted.size}, ${rejected} rejected)`)
    console.log(`deliveries through the dispatcher: ${deliveriesPerSecond.toFixed(0)} /s (${arrivals.length} of ${expected}; ` +
      `${failed.rows[0].n} not delivered); ratio to raw undici ${ratio.toFixed(2)} (intake sets this pace: two per conversion accepted)`)
    console.log(`acceptance to arrival: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms (target p99 < 250 ms)`)
    console.log(`backlog written in one statement in ${insertMs.toFixed(0)} ms; its clock starts once committed`)
    console.log(`backlog of ${BACKLOG} drained: ${backlogPerSecond.toFixed(0)} deliveries/s (${drained} arrived); ` +
      `ratio to raw undici ${(backlogPerSecond / rawPerSecond).toFixed(2)} (target >= 0.3)`)
    // CPU per delivery moves less than throughput on a shared machine.
    console.log(`backlog CPU per delivery: app ${appCpuPerDelivery.toFixed(0)} µs, PostgreSQL ` +
      `${pgCpuPerDelivery === null ? 'n/a' : `${pgCpuPerDelivery.toFixed(0)} µs`} (all its processes)`)
    // The app's CPU is its own; PostgreSQL's counts every process of the server, other clients' too, so on a
    // shared server only the app's ratio isolates what signing costs.
    const total = (cpu: { app: number; pg: number | null }) => cpu.app + (cpu.pg ?? 0)
    console.log(`signing CPU per delivery: unsigned app ${cpuUnsigned.app.toFixed(0)} µs + PostgreSQL ${cpuUnsigned.pg?.toFixed(0) ?? 'n/a'} µs; ` +
      `signed app ${cpuSigned.app.toFixed(0)} µs + PostgreSQL ${cpuSigned.pg?.toFixed(0) ?? 'n/a'} µs; ` +
      `signed/unsigned app CPU ratio ${(cpuSigned.app / cpuUnsigned.app).toFixed(3)} (target <= 1.10; two backlogs of ${BACKLOG} each, interleaved); ` +
      `signed/unsigned app+PostgreSQL CPU ratio ${(total(cpuSigned) / total(cpuUnsigned)).toFixed(3)} (the server's every process)`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'signed backlog throughput', value: Math.round((signed.perSecond + signedAgain.perSecond) / 2), unit: 'deliveries/s' })}`)
    if (arrivals.length < expected || drained < BACKLOG || p99 >= 250) process.exitCode = 1
    if ([signed, unsignedAgain, signedAgain].some((run) => run.drained < BACKLOG)) process.exitCode = 1
  } finally {
    await stopChild(sink.child)
    await database.drop()
  }
}

const mode = process.argv[2]
if (mode === 'serve-sink') await serveSink()
else if (mode === 'serve-app') {
  await serveApp(process.argv[3] as string, {
    logLevel: 'warn',
    env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true', POSTBACK_CONCURRENCY: String(POSTBACK_CONCURRENCY) },
    setup: answerCpuQueries,
  })
} else await main()
