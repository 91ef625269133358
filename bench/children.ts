/**
 * What the benchmarks share: starting their servers as child processes of the same script (the load
 * generator must not share an event loop with what it measures), stopping them, and the real app in a child.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import type { BuildOptions } from '../src/app.js'

export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const ADMIN_KEY = 'bench-admin-key-0123456789'

/** A fresh database on PG_ADMIN_URL's server for one run; `drop()` removes it, connections and all. */
export async function freshDatabase (): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `s2s_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    async drop () {
      try {
        await admin.query(`drop database if exists ${name} with (force)`)
      } finally {
        await admin.end()
      }
    },
  }
}

/**
 * Runs `script` (a benchmark's own `import.meta.url`) again with `args` and resolves once the child
 * reports its port. BENCH_NODE_OPTIONS reaches the children only (e.g. `--cpu-prof`).
 */
export function startChild (script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const extra = (process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter((arg) => arg !== '')
  const child = spawn(process.execPath, [...process.execArgv, ...extra, fileURLToPath(script), ...args], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)))
    const onMessage = (message: unknown) => {
      if (message === null || typeof message !== 'object' || !('port' in message)) return
      child.off('message', onMessage)
      resolve({ child, port: (message as { port: number }).port })
    }
    child.on('message', onMessage)
  })
}

export function stopChild (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit')
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/**
 * In a child: the real app on `databaseUrl`, on a loopback port it reports to the parent once `setup`
 * (extra IPC handlers) has run; SIGTERM closes it. Logs at BENCH_LOG_LEVEL, else `logLevel`, to stdout
 * (which the parent discards). `build` reaches buildApp (e.g. `{ metrics: false }`).
 */
export async function serveApp (
  databaseUrl: string,
  options: { logLevel: string; env?: Record<string, string>; build?: BuildOptions; setup?: (app: FastifyInstance) => void }
): Promise<void> {
  const { buildApp } = await import('../src/app.js')
  const { loadConfig } = await import('../src/config.js')
  const dataDir = mkdtempSync(path.join(tmpdir(), 's2s-bench-'))
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    ADMIN_API_KEYS: ADMIN_KEY,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? options.logLevel,
    ...options.env,
  })
  const app = await buildApp(config, options.build)
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.on('SIGTERM', () => {
    app.close().finally(() => {
      rmSync(dataDir, { recursive: true, force: true })
      process.exit(0)
    })
  })
  options.setup?.(app)
  process.send?.({ port: (app.server.address() as { port: number }).port })
}

/** A POST to the app's admin API; the answer's JSON with its HTTP status. */
export async function api (port: number, url: string, body: unknown): Promise<{ id: number; status: number }> {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method: 'POST', headers: { 'api-key': ADMIN_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body),
  })
  const json = (await res.json()) as { id: number }
  return { ...json, status: res.status }
}

/** `api`, failing unless the object was created. */
export async function create (port: number, url: string, body: unknown): Promise<{ id: number }> {
  const created = await api(port, url, body)
  if (created.status !== 201) throw new Error(`${url}: ${created.status} ${JSON.stringify(created)}`)
  return created
}

/**
 * CPU time is a steadier measure than throughput on a shared machine: a server answers the parent's
 * `{ cpu: true }` with its own user + system time in microseconds.
 */
export function answerCpuQueries (): void {
  process.on('message', (message: unknown) => {
    if (message !== null && typeof message === 'object' && 'cpu' in message) {
      const { user, system } = process.cpuUsage()
      process.send?.({ cpuMicros: user + system })
    }
  })
}

/** In a child serving the app: writes the click buffer when the parent asks (`flushClicks`), and says whether it could. */
export function answerFlushRequests (app: FastifyInstance): void {
  process.on('message', (message: unknown) => {
    if (message === null || typeof message !== 'object' || !('flush' in message)) return
    app.clickRecorder.flush().then(() => process.send?.({ flushed: true }), () => process.send?.({ flushed: false }))
  })
}

/** Resolves when the child (which must call `answerFlushRequests`) has written every click it answered. */
export function flushClicks (child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (message === null || typeof message !== 'object' || !('flushed' in message)) return
      child.off('message', onMessage)
      if ((message as { flushed: boolean }).flushed) resolve()
      else reject(new Error('the click buffer could not be written'))
    }
    child.on('message', onMessage)
    child.send({ flush: true })
  })
}

/** A child's CPU time so far (it must call `answerCpuQueries`), in microseconds; NaN if it does not answer in 10 s. */
export function askCpu (child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      resolve(NaN)
    }, 10_000)
    const onMessage = (message: unknown) => {
      if (message !== null && typeof message === 'object' && 'cpuMicros' in message) {
        clearTimeout(timer)
        child.off('message', onMessage)
        resolve((message as { cpuMicros: number }).cpuMicros)
      }
    }
    child.on('message', onMessage)
    child.send({ cpu: true })
  })
}

/**
 * CPU time of every PostgreSQL process on this machine (backends, WAL writer, autovacuum...), in
 * microseconds, from /proc; null where /proc cannot tell (not Linux). The benchmarks' server is local and
 * otherwise idle; whatever else uses it counts too, and a backend that exits between two readings takes
 * its time with it (the benchmarks' pooled connections live through the measured phase).
 */
export function postgresCpuMicros (): number | null {
  let ticks = 0
  let found = false
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return null
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      if (!stat.includes('(postgres)')) continue
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
      found = true
    } catch {
      // gone since the listing
    }
  }
  // USER_HZ is 100 on every Linux this runs on.
  return found ? ticks * 10_000 : null
}

function processTicks (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

/**
 * Starts metering the CPU time of the PostgreSQL backends connected to one database; `stop()` gives the
 * microseconds they used meanwhile, or null where /proc cannot tell (not Linux). Unlike postgresCpuMicros,
 * the work of other databases on a shared server does not count, nor do their backends exiting (which
 * there makes the difference of two readings meaningless, even negative). The backends are listed every
 * 500 ms (from an admin connection, itself not counted) and read every 100 ms, so a backend that exits
 * keeps what it had at its last reading. The server's shared processes (WAL writer, checkpointer,
 * autovacuum) are left out: what a statement costs is paid in the backend that runs it.
 */
export async function meterDatabaseBackends (database: string): Promise<{ stop(): Promise<number | null> }> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  /** Per backend: its ticks when first seen (0 when it started during the metering) and at its last reading. */
  const backends = new Map<number, { first: number; last: number }>()
  const readable = processTicks(process.pid) !== null
  let started = false
  const list = async () => {
    const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database])
    for (const { pid } of rows) {
      const ticks = backends.has(pid) ? null : processTicks(pid)
      if (ticks !== null) backends.set(pid, { first: started ? 0 : ticks, last: ticks })
    }
  }
  const read = () => {
    for (const [pid, backend] of backends) {
      const ticks = processTicks(pid)
      if (ticks !== null) backend.last = ticks
    }
  }
  await list()
  started = true
  let listing = Promise.resolve()
  const reader = setInterval(read, 100)
  const lister = setInterval(() => { listing = listing.then(list, () => {}) }, 500)
  return {
    async stop () {
      clearInterval(reader)
      clearInterval(lister)
      await listing.catch(() => {})
      await list().finally(() => admin.end())
      read()
      if (!readable || backends.size === 0) return null
      let ticks = 0
      for (const backend of backends.values()) ticks += backend.last - backend.first
      // USER_HZ is 100 on every Linux this runs on.
      return ticks * 10_000
    },
  }
}
