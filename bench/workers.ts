/**
 * What `WORKERS=2` gives against `WORKERS=1` on PostgreSQL: the built service (`dist/src/server.js`, as
 * `npm start` runs it) under the same autocannon load on `/click`, started with one worker process and then
 * with two, alternating (1, 2, 1, 2) so a slow phase of the machine falls on both. Prints clicks per second,
 * the service's CPU per click (the primary and every worker, from /proc) and PostgreSQL's, and the ratio of
 * two workers' throughput to one's. On a machine where the load generator and PostgreSQL share the cores with
 * the service, two workers can only use what they leave.
 *
 *   npm run bench -- workers      BENCH_CONNECTIONS (50), BENCH_DURATION (10 s), BENCH_PG_URL as for the others
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { ADMIN_KEY, create, freshDatabase, postgresCpuMicros } from './children.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const WARMUP_S = 2
const SERVER = fileURLToPath(new URL('../src/server.js', import.meta.url))

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    }).on('error', reject)
  })
}

/** User + system CPU of `pid` and of every process whose parent it is (cluster workers), in µs. */
function treeCpuMicros (pid: number): number {
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(entry) === pid || Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks * 10_000
}

async function waitReady (port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`)
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the service was not ready within 30 s')
}

interface Run { workers: number; clicksPerSecond: number; serviceMicros: number; postgresMicros: number | null }

async function run (workers: number, databaseUrl: string, target: { offerId: number; affiliateId: number } | null): Promise<Run & { target: { offerId: number; affiliateId: number } }> {
  const port = await freePort()
  const dataDir = mkdtempSync(path.join(tmpdir(), 's2s-workers-'))
  const child = spawn(process.execPath, [SERVER], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKERS: String(workers),
      ADMIN_API_KEYS: ADMIN_KEY,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SERVICE_ROLES: 'http,dispatcher,maintenance',
    },
  })
  try {
    await waitReady(port, child)
    let ids = target
    if (ids === null) {
      const advertiser = await create(port, '/v1/advertisers', { name: 'Bench advertiser' })
      const offer = await create(port, '/v1/offers', { advertiser_id: advertiser.id, title: 'Bench offer', url: 'https://adv.example/land?click={clickid}' })
      const affiliate = await create(port, '/v1/affiliates', { name: 'Bench affiliate', email: 'workers@bench.example' })
      ids = { offerId: offer.id, affiliateId: affiliate.id }
    }
    const url = `http://127.0.0.1:${port}/click?pid=${ids.affiliateId}&offer_id=${ids.offerId}&sub1=bench`
    const probe = await fetch(url, { redirect: 'manual' })
    if (probe.status !== 302) throw new Error(`a click answered ${probe.status}, not a redirect`)
    await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S })
    const serviceBefore = treeCpuMicros(child.pid as number)
    const postgresBefore = postgresCpuMicros()
    const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S })
    const serviceMicros = treeCpuMicros(child.pid as number) - serviceBefore
    const postgresAfter = postgresCpuMicros()
    const clicks = result.requests.total
    return {
      workers,
      clicksPerSecond: clicks / DURATION_S,
      serviceMicros: serviceMicros / clicks,
      postgresMicros: postgresBefore === null || postgresAfter === null ? null : (postgresAfter - postgresBefore) / clicks,
      target: ids,
    }
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  try {
    const runs: Run[] = []
    let target: { offerId: number; affiliateId: number } | null = null
    for (const workers of [1, 2, 1, 2]) {
      const result = await run(workers, database.url, target)
      target = result.target
      runs.push(result)
      console.log(`WORKERS=${workers}: ${Math.round(result.clicksPerSecond)} clicks/s, service ${result.serviceMicros.toFixed(0)} µs CPU per click, ` +
        `PostgreSQL ${result.postgresMicros?.toFixed(0) ?? 'n/a'} µs`)
    }
    const mean = (workers: number, pick: (r: Run) => number) => {
      const of = runs.filter((r) => r.workers === workers)
      return of.reduce((sum, r) => sum + pick(r), 0) / of.length
    }
    const one = mean(1, (r) => r.clicksPerSecond)
    const two = mean(2, (r) => r.clicksPerSecond)
    console.log(`clicks with 1 worker: ${Math.round(one)} /s`)
    console.log(`clicks with 2 workers: ${Math.round(two)} /s`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: '2 workers / 1 worker, clicks per second', value: (two / one).toFixed(2), unit: '' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({
      measure: 'service CPU per click, 1 / 2 workers',
      value: `${mean(1, (r) => r.serviceMicros).toFixed(0)} / ${mean(2, (r) => r.serviceMicros).toFixed(0)}`,
      unit: 'µs',
    })}`)
  } finally {
    await database.drop()
  }
}

await main()
