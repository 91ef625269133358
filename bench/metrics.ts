/**
 * What /metrics costs, against its targets: at most 3% more app CPU per click and per conversion than the same
 * service without metrics, and a scrape under 50 ms.
 *
 *   npm run bench -- metrics
 *   (or: npx tsc -p tsconfig.bench.json && node dist/bench/metrics.js)
 *
 * Two instances of the app share one fresh PostgreSQL database (BENCH_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), one built with metrics and one without (`buildApp`'s
 * `metrics: false`), each in its own child process. They take the same click load, then the same conversion
 * load (every request a new conversion), in turns: on, off, off, on, on, off... The machine's speed drifts
 * within minutes; alternating cancels a steady drift, and the other instance idles meanwhile. Each load comes at
 * a fixed rate, BENCH_CLICK_RATE (3,000/s) and BENCH_CONVERSION_RATE (400/s), under what either instance can
 * answer on a busy 2-core machine: CPU per request falls as a server batches more under a heavier load, so
 * instances answering at different rates would not be compared like for like (0: as fast as each answers).
 * A turn's figure is the app's CPU time (user + system) from before the load until the clicks it answered are
 * written, divided by the clicks answered or the conversions created. BENCH_METRICS_AA=1 builds both instances
 * with metrics: the ratio then shows the noise of the machine alone. The instance with metrics starts first
 * (applying the migrations, taking the catalog's API calls); BENCH_METRICS_FIRST=off swaps that, to see whether
 * being first moves an instance's figures.
 *
 * The CPU ratio judged is the median of the rounds' own ratios (see `report`).
 *
 * Then /metrics is scraped BENCH_SCRAPES (200) times, one after another with a 20 ms pause, from a process
 * of its own, on the database the turns filled: idle with nothing due, then with BENCH_SCRAPE_BACKLOG (100,000)
 * deliveries due and leased to nobody that exists (each scrape counts them), idle and under the click load.
 *
 * BENCH_ROUNDS (12) pairs of turns per load, BENCH_TURN_DURATION (3 s) each, BENCH_CONNECTIONS (50);
 * BENCH_LOG_LEVEL and BENCH_NODE_OPTIONS as for the other benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon, { type Options, type Result } from 'autocannon'
import pg from 'pg'
import { Agent, request } from 'undici'
import { newClickId } from '../src/domain/click-ids.js'
import { ADMIN_KEY, answerCpuQueries, answerFlushRequests, askCpu, create, flushClicks, freshDatabase, serveApp, startChild, stopChild } from './children.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const TURN_S = Number(process.env.BENCH_TURN_DURATION ?? 3)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12)
const CLICK_RATE = Number(process.env.BENCH_CLICK_RATE ?? 3000)
const CONVERSION_RATE = Number(process.env.BENCH_CONVERSION_RATE ?? 400)
const AA = process.env.BENCH_METRICS_AA === '1'
const FIRST: Variant = process.env.BENCH_METRICS_FIRST === 'off' ? 'off' : 'on'
const WARMUP_S = 3
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 200)
const SCRAPE_PAUSE_MS = 20
const BACKLOG = Number(process.env.BENCH_SCRAPE_BACKLOG ?? 100_000)
/** Click ids prepared for the conversion turns: more than they use even unthrottled, so none repeats. */
const CLICKS = Number(process.env.BENCH_CLICKS ?? 150_000)
const SECURE = 'bench-secure-code'
const CPU_TARGET = 1.03
const SCRAPE_TARGET_MS = 50

type Variant = 'on' | 'off'
interface Server { variant: Variant; child: ChildProcess; port: number }
interface Turn { cpu: number; units: number; result: Result }

async function serve (variant: Variant, databaseUrl: string): Promise<void> {
  await serveApp(databaseUrl, {
    logLevel: 'info',
    build: { metrics: variant === 'on' || AA },
    setup: (app) => {
      answerCpuQueries()
      answerFlushRequests(app)
    },
  })
}

/** Sequential scrapes with the admin key over one kept-alive connection, as Prometheus makes them; milliseconds each. */
async function scrape (port: number, count: number): Promise<void> {
  const dispatcher = new Agent({ connections: 1 })
  const latencies: number[] = []
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const res = await request(`http://127.0.0.1:${port}/metrics`, { headers: { 'api-key': ADMIN_KEY }, dispatcher })
    const body = await res.body.text()
    latencies.push(performance.now() - started)
    if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}: ${body.slice(0, 200)}`)
    bytes = body.length
    await new Promise((resolve) => setTimeout(resolve, SCRAPE_PAUSE_MS))
  }
  await dispatcher.close()
  process.send?.({ latencies, bytes })
}

/** Runs `scrape` in a child process, so the load generator's busy event loop does not add to the latencies. */
function scrapeFromChild (port: number): Promise<{ latencies: number[]; bytes: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'scrape', String(port), String(SCRAPES)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    child.once('message', (message: { latencies: number[]; bytes: number }) => resolve(message))
    child.once('exit', (code) => reject(new Error(`the scraper exited with ${code} before reporting`)))
  })
}

const rate = (perSecond: number) => (perSecond > 0 ? { overallRate: perSecond } : {})

function clickLoad (url: string, duration: number, perSecond = CLICK_RATE) {
  return autocannon({ url, connections: CONNECTIONS, duration, ...rate(perSecond) })
}

/** Autocannon with a fresh path per request, taken from `nextPath`. */
function postbackLoad (port: number, duration: number, nextPath: () => string): Promise<Result> {
  const options = {
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration,
    ...rate(CONVERSION_RATE),
    // autocannon's per-request hook (not in bench/autocannon.d.ts).
    requests: [{ method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, path: nextPath() }) }],
  }
  return autocannon(options as unknown as Options)
}

/**
 * Clicks written straight to the table, for conversions to attribute to; returns their ids. The ids are the
 * service's own, time-ordered: the intake finds a click in the second its id names.
 */
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

/** Deliveries due now but leased to a holder that does not exist, so no dispatcher takes them and each scrape counts them all. */
async function prepareBacklog (db: pg.Client, affiliateId: number): Promise<void> {
  await db.query(
    `insert into postback_deliveries (postback_id, conversion_id, event_id, affiliate_id, method, url, next_attempt_at, locked_until, locked_by)
     select 1, i, i, $1, 'GET', 'https://aff.example/pb?c=' || i, now() - i * interval '1 millisecond', now() + interval '1 hour', 'bench-absent-holder'
     from generate_series(1, $2::int) as i`,
    [affiliateId, BACKLOG]
  )
  await db.query('analyze postback_deliveries')
}

async function countConversions (db: pg.Client): Promise<number> {
  return Number((await db.query('select count(*) as n from conversions')).rows[0].n)
}

/** One turn: the load, then the clicks it answered written, and the app's CPU time over both. */
async function turn (server: Server, run: () => Promise<Result>, units: (result: Result) => Promise<number>): Promise<Turn> {
  await flushClicks(server.child)
  const before = await askCpu(server.child)
  const result = await run()
  await flushClicks(server.child)
  const cpu = (await askCpu(server.child)) - before
  const counted = await units(result)
  // A turn that created nothing measures only refusals: stop rather than report their cost as the figure.
  if (counted === 0) throw new Error(`a turn produced nothing to count; answers: ${JSON.stringify(result.statusCodeStats)}`)
  return { cpu, units: counted, result }
}

/** The turns of one load, in the order on, off, off, on, on, off...; per variant. */
async function turns (
  servers: Record<Variant, Server>, run: (server: Server) => Promise<Result>, units: (result: Result) => Promise<number>
): Promise<Record<Variant, Turn[]>> {
  const out: Record<Variant, Turn[]> = { on: [], off: [] }
  for (let round = 0; round < ROUNDS; round++) {
    const order: Variant[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on']
    for (const variant of order) out[variant].push(await turn(servers[variant], () => run(servers[variant]), units))
  }
  return out
}

const perUnit = (turns: Turn[]) => turns.reduce((sum, t) => sum + t.cpu, 0) / Math.max(1, turns.reduce((sum, t) => sum + t.units, 0))
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

function quantile (values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
}

/**
 * The two variants' lines and their ratio; returns the ratio judged against the target: the median of the
 * rounds' own ratios, as a burst of other work on the machine during one turn moves that round's ratio by
 * more than the effect measured (the whole run's ratio is shown beside it). Throughput is the mean over the
 * turns, p50 and p99 the medians of the turns' own.
 */
function report (what: string, unit: string, status: string, result: Record<Variant, Turn[]>): number {
  for (const variant of ['on', 'off'] as const) {
    const list = result[variant]
    const errors = list.reduce((sum, t) => sum + t.result.errors + t.result.requests.total - (t.result.statusCodeStats[status]?.count ?? 0), 0)
    console.log(`${`${what}, metrics ${variant}`.padEnd(24)} ${mean(list.map((t) => t.result.requests.average)).toFixed(0).padStart(7)} req/s   ` +
      `p50 ${median(list.map((t) => t.result.latency.p50))} ms   p99 ${median(list.map((t) => t.result.latency.p99))} ms   ` +
      `app CPU ${perUnit(list).toFixed(1)} µs/${unit}   ${unit}s ${list.reduce((sum, t) => sum + t.units, 0)}   errors or not ${status} ${errors}`)
  }
  const byRound = result.on.map((on, i) => perUnit([on]) / perUnit([result.off[i] as Turn]))
  const ratio = median(byRound)
  console.log(`${unit} CPU ratio on/off ${ratio.toFixed(3)} (median of ${byRound.length} rounds, which range ${Math.min(...byRound).toFixed(3)}–` +
    `${Math.max(...byRound).toFixed(3)}, whole run ${(perUnit(result.on) / perUnit(result.off)).toFixed(3)} = ${perUnit(result.on).toFixed(1)} / ` +
    `${perUnit(result.off).toFixed(1)} µs per ${unit}, target <= ${CPU_TARGET})`)
  return ratio
}

function scrapeLine (what: string, latencies: number[]): number {
  const p99 = quantile(latencies, 0.99)
  console.log(`scrape, ${what}: p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (${latencies.length} scrapes)`)
  return p99
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  const started: Server[] = []
  try {
    console.log(`autocannon: ${CONNECTIONS} connections, ${ROUNDS} rounds of one ${TURN_S} s turn per variant and load (after ${WARMUP_S} s warm-ups), ` +
      `clicks at ${CLICK_RATE || 'full'}/s, conversions at ${CONVERSION_RATE || 'full'}/s, 127.0.0.1` + (AA ? '; A/A check: both instances have metrics' : '') + (FIRST === 'off' ? '; the instance without metrics started first' : ''))
    // One after the other: the first applies the migrations.
    for (const variant of FIRST === 'on' ? ['on', 'off'] as const : ['off', 'on'] as const) {
      started.push({ variant, ...(await startChild(import.meta.url, [`serve-${variant}`, database.url])) })
    }
    const servers = { on: started.find((s) => s.variant === 'on') as Server, off: started.find((s) => s.variant === 'off') as Server }
    // The catalog is made through the instance started first.
    const port = (started[0] as Server).port
    const advertiser = await create(port, '/v1/advertisers', { name: 'Bench', secure_code: SECURE })
    const offer = await create(port, '/v1/offers', {
      advertiser_id: advertiser.id,
      title: 'Bench',
      url: 'https://adv.example/land?click={clickid}&pid={pid}&s1={sub1}&s2={sub2}',
      goals: [{ value: '1', title: 'Sale', type: 'percent', revenue: 20, payout: 60 }],
    })
    const affiliate = await create(port, '/v1/affiliates', { name: 'Bench', email: 'bench@example.com' })
    const db = new pg.Client({ connectionString: database.url })
    await db.connect()
    const clickids = await prepareClicks(db, offer.id, affiliate.id)

    const clickUrl = (server: Server) => `http://127.0.0.1:${server.port}/click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=abc&sub2=def`
    let next = 0
    const postbackPath = () => {
      const clickid = clickids[next++ % clickids.length] as string
      return `/postback?clickid=${clickid}&action_id=order-${next}&sum=150&status=2&secure=${SECURE}&ios_idfa=bench`
    }
    for (const server of started) {
      await clickLoad(clickUrl(server), WARMUP_S)
      await postbackLoad(server.port, WARMUP_S, postbackPath)
    }

    const clicks = await turns(servers, (server) => clickLoad(clickUrl(server), TURN_S), async (result) => result.statusCodeStats['302']?.count ?? 0)
    let conversionsBefore = 0
    const conversions = await turns(servers, async (server) => {
      conversionsBefore = await countConversions(db)
      return postbackLoad(server.port, TURN_S, postbackPath)
    }, async () => (await countConversions(db)) - conversionsBefore)
    if (next > clickids.length) console.log('(click ids wrapped: later postbacks were duplicates, not counted as conversions)')

    const clickRatio = report('/click', 'click', '302', clicks)
    const conversionRatio = report('/postback', 'conversion', '200', conversions)

    // The scrapes: the instance with metrics, idle with nothing due, then idle and under load with the backlog.
    const scrapeIdle = async () => {
      const cpuBefore = await askCpu(servers.on.child)
      const scrapes = await scrapeFromChild(servers.on.port)
      return { ...scrapes, cpu: ((await askCpu(servers.on.child)) - cpuBefore) / SCRAPES }
    }
    const empty = await scrapeIdle()
    await prepareBacklog(db, affiliate.id)
    const idle = await scrapeIdle()
    const load = clickLoad(clickUrl(servers.on), 600)
    const busy = await scrapeFromChild(servers.on.port).finally(() => load.stop())
    const underLoad = await load
    await db.end()

    console.log(`/metrics answer ${(idle.bytes / 1024).toFixed(1)} KiB`)
    scrapeLine('idle, nothing due', empty.latencies)
    const idleP99 = scrapeLine(`idle, ${BACKLOG} due`, idle.latencies)
    const busyP99 = scrapeLine(`${BACKLOG} due, under click load at ${underLoad.requests.average.toFixed(0)} per s`, busy.latencies)
    // Each includes the instance's own timers over the same seconds: an upper bound.
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'app CPU per scrape, idle, nothing due', value: Math.round(empty.cpu), unit: 'µs' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: `app CPU per scrape, idle, ${BACKLOG} due`, value: Math.round(idle.cpu), unit: 'µs' })}`)

    const missed = [
      clickRatio > CPU_TARGET && `CPU per click ${clickRatio.toFixed(3)} of the service without metrics`,
      conversionRatio > CPU_TARGET && `CPU per conversion ${conversionRatio.toFixed(3)} of the service without metrics`,
      Math.max(idleP99, busyP99) >= SCRAPE_TARGET_MS && `scrape p99 ${Math.max(idleP99, busyP99).toFixed(1)} ms`,
    ].filter(Boolean)
    if (missed.length > 0) {
      console.log(`targets missed: ${missed.join(', ')}`)
      process.exitCode = 1
    }
  } finally {
    for (const server of started) await stopChild(server.child)
    await database.drop()
  }
}

const mode = process.argv[2]
if (mode === 'serve-on' || mode === 'serve-off') await serve(mode === 'serve-on' ? 'on' : 'off', process.argv[3] as string)
else if (mode === 'scrape') await scrape(Number(process.argv[3]), Number(process.argv[4]))
else await main()
