/**
 * The click path against a bare Fastify 302, under the same autocannon load, on 127.0.0.1.
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/click.js
 *   (or, uncompiled: TS_NODE_TRANSPILE_ONLY=1 node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/click.ts)
 *
 * Each server runs in its own child process (the load generator must not share its event loop); the real one
 * uses a fresh PostgreSQL database (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres) and logs
 * at BENCH_LOG_LEVEL (default info: the production request line) to /dev/null.
 * BENCH_CONNECTIONS (50) and BENCH_DURATION (10 s) shape the load; BENCH_NODE_OPTIONS is passed to the servers;
 * BENCH_CAPS_ROUNDS (4) rounds each of an offer with clicks caps and one without compare their CPU per click.
 */
import type { ChildProcess } from 'node:child_process'
import autocannon, { type Result } from 'autocannon'
import Fastify from 'fastify'
import pg from 'pg'
import { answerCpuQueries, askCpu, create, freshDatabase, serveApp, startChild, stopChild } from './children.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const WARMUP_S = 2
/** Rounds of the capped and the uncapped offer each, in ABBA order (BENCH_CAPS_ROUNDS). */
const CAPS_PAIRS = Number(process.env.BENCH_CAPS_ROUNDS ?? 4)
const OFFER_URL = 'https://adv.example/land?click={clickid}&pid={pid}&s1={sub1}&s2={sub2}'
/** Clicks caps far above what a run sends: every click is judged against three caps and let through. */
const CLICK_CAPS = [
  { metric: 'clicks', period: 'day', limit: 1_000_000_000 },
  { metric: 'clicks', period: 'week', limit: 1_000_000_000, per_affiliate: true },
  { metric: 'clicks', period: 'month', limit: 1_000_000_000 },
]

type ToParent =
  | { port: number }
  | { flushed: true; recorded: number; dropped: number; buffered: number; peakBuffered: number }
type ToChild = { flush: true }

function send (message: ToParent): void {
  process.send?.(message)
}

async function serveBare (): Promise<void> {
  const app = Fastify()
  app.get('/click', async (_request, reply) =>
    reply.code(302).header('location', 'https://adv.example/land?click=0123456789abcdef01234567').header('cache-control', 'no-store').send())
  await app.listen({ port: 0, host: '127.0.0.1' })
  answerCpuQueries()
  send({ port: (app.server.address() as { port: number }).port })
  process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

async function serveClick (databaseUrl: string): Promise<void> {
  await serveApp(databaseUrl, {
    logLevel: 'info',
    setup: (app) => {
      answerCpuQueries()
      process.on('message', (message: ToChild) => {
        if (message === null || typeof message !== 'object' || !('flush' in message)) return
        app.clickRecorder.flush().then(() => {
          const { recorded, dropped, buffered, peakBuffered } = app.clickRecorder
          send({ flushed: true, recorded, dropped, buffered, peakBuffered })
        }, () => {})
      })
    },
  })
}

const startServer = (args: string[]) => startChild(import.meta.url, args)
const stopServer = stopChild

/** A run's result plus the server's CPU time per answered request. */
async function measure (child: ChildProcess, url: string): Promise<Result & { cpuPerRequest: number }> {
  const cpuBefore = await askCpu(child)
  const result = await load(url, DURATION_S)
  const cpu = (await askCpu(child)) - cpuBefore
  return { ...result, cpuPerRequest: cpu / Math.max(1, result.requests.total) }
}

function askFlush (child: ChildProcess): Promise<{ recorded: number; dropped: number; buffered: number; peakBuffered: number }> {
  return new Promise((resolve) => {
    const onMessage = (message: ToParent) => {
      if ('flushed' in message) {
        child.off('message', onMessage)
        resolve(message)
      }
    }
    child.on('message', onMessage)
    child.send({ flush: true } satisfies ToChild)
  })
}

function load (url: string, duration: number): Promise<Result> {
  return autocannon({ url, connections: CONNECTIONS, duration })
}

async function countClicks (client: pg.Client): Promise<number> {
  return Number((await client.query('select count(*) as n from clicks')).rows[0].n)
}

function line (name: string, result: Result & { cpuPerRequest: number }, status = '302'): string {
  const ok = result.statusCodeStats[status]?.count ?? 0
  return `${name.padEnd(12)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(3)} ms   ` +
    `p99 ${String(result.latency.p99).padStart(3)} ms   server CPU ${result.cpuPerRequest.toFixed(0).padStart(3)} µs/req   ` +
    `${status}s ${ok}   errors ${result.errors}   other ${result.requests.total - ok}`
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  try {
    console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per run (after a ${WARMUP_S} s warm-up), 127.0.0.1`)

    const bare = await startServer(['serve-bare'])
    const bareUrl = `http://127.0.0.1:${bare.port}/click?pid=1&offer_id=1&sub1=abc&sub2=def`
    await load(bareUrl, WARMUP_S)
    const bareResult = await measure(bare.child, bareUrl)
    await stopServer(bare.child)

    const real = await startServer(['serve-click', database.url])
    const advertiser = await create(real.port, '/v1/advertisers', { name: 'Bench' })
    const offer = await create(real.port, '/v1/offers', { advertiser_id: advertiser.id, title: 'Bench', url: OFFER_URL })
    const affiliate = await create(real.port, '/v1/affiliates', { name: 'Bench', email: 'bench@example.com' })
    const clickUrl = `http://127.0.0.1:${real.port}/click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=abc&sub2=def`
    const capped = await create(real.port, '/v1/offers', { advertiser_id: advertiser.id, title: 'Bench capped', url: OFFER_URL, caps: CLICK_CAPS })
    const cappedUrl = `http://127.0.0.1:${real.port}/click?pid=${affiliate.id}&offer_id=${capped.id}&sub1=abc&sub2=def`
    // The app's floor: the same server answering /health (hooks, request id, the request log line, no click work).
    await load(`http://127.0.0.1:${real.port}/health`, WARMUP_S)
    const healthResult = await measure(real.child, `http://127.0.0.1:${real.port}/health`)
    await load(clickUrl, WARMUP_S)
    await askFlush(real.child)
    const db = new pg.Client({ connectionString: database.url })
    await db.connect()
    const before = await countClicks(db)
    const clickResult = await measure(real.child, clickUrl)
    const counters = await askFlush(real.child)
    const recorded = (await countClicks(db)) - before
    // The same server, the same run: an offer with clicks caps beside the one without, in rounds ordered
    // capped, uncapped, uncapped, capped (and again), so that a drift of the machine's load over the run
    // weighs on both alike; the first uncapped measure above is left out of the comparison.
    await load(cappedUrl, WARMUP_S)
    const cappedRuns: (Result & { cpuPerRequest: number })[] = []
    const uncappedRuns: (Result & { cpuPerRequest: number })[] = []
    for (let pair = 0; pair < CAPS_PAIRS; pair++) {
      const order = pair % 2 === 0 ? [cappedUrl, clickUrl] : [clickUrl, cappedUrl]
      for (const url of order) (url === cappedUrl ? cappedRuns : uncappedRuns).push(await measure(real.child, url))
    }
    const cappedResult = cappedRuns[0] as Result & { cpuPerRequest: number }
    const cpuPerClick = (runs: (Result & { cpuPerRequest: number })[]) =>
      runs.reduce((sum, r) => sum + r.cpuPerRequest * r.requests.total, 0) / Math.max(1, runs.reduce((sum, r) => sum + r.requests.total, 0))
    await db.end()
    await stopServer(real.child)

    const answered = clickResult.statusCodeStats['302']?.count ?? 0
    const ratio = clickResult.requests.average / bareResult.requests.average
    console.log(line('bare 302', bareResult))
    console.log(line('/click', clickResult))
    console.log(line('app /health', healthResult, '200'))
    console.log(line('/click caps', cappedResult))
    console.log(
      `ratio ${ratio.toFixed(2)} (target >= 0.6); /click p99 ${clickResult.latency.p99} ms (target < 25); ` +
        `server CPU ratio ${(bareResult.cpuPerRequest / clickResult.cpuPerRequest).toFixed(2)} (bare µs / click µs)`
    )
    console.log(
      `clicks answered (302) ${answered}, recorded in PostgreSQL ${recorded}, dropped ${counters.dropped}, ` +
        `still buffered ${counters.buffered}, at most ${counters.peakBuffered} waiting for a write at once`
    )
    const withCaps = cpuPerClick(cappedRuns)
    const without = cpuPerClick(uncappedRuns)
    console.log(`CPU per click over ${CAPS_PAIRS} rounds each: without caps ${without.toFixed(1)} µs, with ${CLICK_CAPS.length} clicks caps ${withCaps.toFixed(1)} µs`)
    console.log(`caps CPU ratio ${(withCaps / without).toFixed(2)} (server CPU per click with caps / without, same run; target <= 1.05)`)
    // A request in flight when the run stops is recorded but not counted as answered: recorded may exceed answered.
    if (recorded < answered) process.exitCode = 1
  } finally {
    await database.drop()
  }
}

const mode = process.argv[2]
if (mode === 'serve-bare') await serveBare()
else if (mode === 'serve-click') await serveClick(process.argv[3] as string)
else await main()
