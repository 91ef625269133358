/**
 * The service's resident memory on the embedded database (PGlite), beside the same service on PostgreSQL.
 *
 *   npm run bench -- memory
 *   (or: npx tsc -p tsconfig.bench.json && node dist/bench/memory.js)
 *
 * Starts the built service (`dist/src/server.js`, as `npm start` does) with DATA_DIR a fresh temporary
 * directory: the first start creates the database and applies the migrations (the migration peak), once from
 * the template `npm run build` makes (made here first if missing) and once without it (PGlite's own initdb,
 * as when the sources run directly). It is stopped once idle and started again on the same directory (idle). Each time the process's VmRSS and VmHWM
 * are sampled from /proc every 100 ms, and its resident memory is split by kind from /proc/<pid>/smaps: the
 * WebAssembly linear memory (PGlite's, where PostgreSQL's own memory lives), executable anonymous memory (code
 * V8 compiled, PGlite's WebAssembly included), other anonymous memory (the JS heap, malloc) and mapped files.
 * Then the embedded database alone, opened by the service's own code with one query, and the service on a
 * fresh PostgreSQL database (BENCH_PG_URL) for comparison.
 *
 * BENCH_IDLE (10 s) is how long each start idles before its figures are read. Linux only (/proc).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, renameSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { ADMIN_KEY, freshDatabase } from './children.js'
import { templateDir } from '../src/db/pglite-template.js'

const IDLE_MS = Number(process.env.BENCH_IDLE ?? 10) * 1000
const SAMPLE_MS = 100
const SERVER = fileURLToPath(new URL('../src/server.js', import.meta.url))
const TEMPLATE_CLI = fileURLToPath(new URL('../src/db/pglite-template-cli.js', import.meta.url))
const MiB = 1024 * 1024

interface Memory { rss: number; hwm: number }
/** Resident MiB by kind of mapping. */
interface Breakdown { wasmMemory: number; code: number; otherAnonymous: number; files: number }

async function memoryOf (pid: number): Promise<Memory | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  return rss === undefined || hwm === undefined ? null : { rss: Number(rss) / 1024, hwm: Number(hwm) / 1024 }
}

/**
 * A 32-bit WebAssembly memory is one reservation of its whole address space plus guard regions, at least 8 GiB,
 * of which the part grown so far is readable and writable: an anonymous read-write mapping directly followed
 * by an inaccessible one of 4 GiB or more. Only the pages PostgreSQL touched are resident, and they stay
 * resident: a WebAssembly memory never shrinks.
 */
async function breakdownOf (pid: number): Promise<Breakdown> {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8')
  const mappings: { start: number; end: number; perms: string; name: string; rss: number }[] = []
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (header !== null) {
      mappings.push({ start: parseInt(header[1] as string, 16), end: parseInt(header[2] as string, 16), perms: header[3] as string, name: header[4] as string, rss: 0 })
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)?.[1]
    const last = mappings[mappings.length - 1]
    if (rss !== undefined && last !== undefined) last.rss = Number(rss) / 1024
  }
  const out: Breakdown = { wasmMemory: 0, code: 0, otherAnonymous: 0, files: 0 }
  mappings.forEach((m, i) => {
    const next = mappings[i + 1]
    const guarded = next !== undefined && next.start === m.end && next.perms.startsWith('---') && next.end - next.start >= 4 * 1024 * MiB
    const kind: keyof Breakdown = m.name.startsWith('/')
      ? 'files'
      : guarded && m.perms.startsWith('rw') ? 'wasmMemory' : m.perms[2] === 'x' ? 'code' : 'otherAnonymous'
    out[kind] += m.rss
  })
  return out
}

/** The service's heap and external memory as its /metrics reports them, in MiB. */
async function heapOf (port: number): Promise<{ heapUsed: number; heapTotal: number; external: number } | null> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'api-key': ADMIN_KEY } }).catch(() => null)
  if (res === null || !res.ok) return null
  const text = await res.text()
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / MiB
  return { heapUsed: value('s2s_nodejs_heap_size_used_bytes'), heapTotal: value('s2s_nodejs_heap_size_total_bytes'), external: value('s2s_nodejs_external_memory_bytes') }
}

interface StartFigures {
  readySeconds: number
  atReady: Memory
  idle: Memory
  breakdown: Breakdown
  heap: Awaited<ReturnType<typeof heapOf>>
}

/** Starts the service with `env`, waits until it is ready and has idled, reads its figures and stops it. */
async function startService (env: Record<string, string>): Promise<StartFigures> {
  const cwd = mkdtempSync(path.join(tmpdir(), 's2s-bench-cwd-'))
  const { DATABASE_URL: _ignored, ...inherited } = process.env
  // The working directory is empty, so no .env file of the checkout's is read.
  const child = spawn(process.execPath, [SERVER], {
    cwd,
    env: { ...inherited, HOST: '127.0.0.1', PORT: '0', ADMIN_API_KEYS: ADMIN_KEY, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const started = Date.now()
    let last: Memory | null = null
    const sampler = setInterval(() => {
      void memoryOf(child.pid as number).then((memory) => { if (memory !== null) last = memory })
    }, SAMPLE_MS)
    const port = await readyPort(child)
    const readySeconds = (Date.now() - started) / 1000
    const atReady = (await memoryOf(child.pid as number)) ?? (last as Memory | null) ?? { rss: NaN, hwm: NaN }
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    clearInterval(sampler)
    const heap = await heapOf(port)
    const idle = (await memoryOf(child.pid as number)) ?? { rss: NaN, hwm: NaN }
    return { readySeconds, atReady, idle, breakdown: await breakdownOf(child.pid as number), heap }
  } finally {
    await stop(child)
    rmSync(cwd, { recursive: true, force: true })
  }
}

/** Resolves with the port once the service logs that it is ready; rejects if it exits first. */
function readyPort (child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let partial = ''
    let output = ''
    const onExit = (code: number | null) => reject(new Error(`the service exited with ${code} before it was ready:\n${output.slice(-2000)}`))
    child.once('exit', onExit)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.includes('s2s-tracker ready')) continue
        const port = (JSON.parse(line) as { listening: { port: number }[] }).listening[0]?.port ?? NaN
        child.off('exit', onExit)
        child.stdout?.resume()
        resolve(port)
      }
    })
  })
}

function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** In a child: the embedded database opened as the service opens it, one query, then its memory once settled. */
async function pgliteAlone (dataDir: string): Promise<void> {
  const { openDatabase } = await import('../src/db/database.js')
  const { pino } = await import('pino')
  const handle = await openDatabase({ databaseUrl: null, dataDir }, pino({ level: 'silent' }))
  await sql`select count(*) from offers`.execute(handle.db)
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const usage = process.memoryUsage()
  const memory = await memoryOf(process.pid)
  const breakdown = await breakdownOf(process.pid)
  await handle.close()
  process.send?.({ memory, breakdown, usage }, () => process.disconnect())
}

function runAlone (dataDir: string): Promise<{ memory: Memory; breakdown: Breakdown; usage: NodeJS.MemoryUsage }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'pglite-alone', dataDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (message: { memory: Memory; breakdown: Breakdown; usage: NodeJS.MemoryUsage }) => resolve(message))
    child.once('exit', (code) => reject(new Error(`pglite-alone exited with ${code}`)))
  })
}

const mib = (value: number) => `${value.toFixed(0)} MiB`

function describe (what: string, figures: StartFigures): void {
  const { atReady, idle, breakdown: b, heap } = figures
  console.log(`${what}: ready after ${figures.readySeconds.toFixed(1)} s, peak ${mib(Math.max(atReady.hwm, idle.hwm))} (VmHWM), ` +
    `RSS at ready ${mib(atReady.rss)}, after ${IDLE_MS / 1000} s idle ${mib(idle.rss)}`)
  console.log(`  idle RSS by kind: WebAssembly memory ${mib(b.wasmMemory)}, code ${mib(b.code)}, other anonymous ${mib(b.otherAnonymous)}, ` +
    `mapped files ${mib(b.files)}` + (heap === null ? '' : `; JS heap ${mib(heap.heapUsed)} used of ${mib(heap.heapTotal)}, external ${mib(heap.external)}`))
  console.log(`BENCH_ROW ${JSON.stringify({ measure: `${what}: peak RSS`, value: Math.round(Math.max(atReady.hwm, idle.hwm)), unit: 'MiB' })}`)
  console.log(`BENCH_ROW ${JSON.stringify({ measure: `${what}: idle RSS`, value: Math.round(idle.rss), unit: 'MiB' })}`)
}

/** A first start on a fresh DATA_DIR with the template moved aside, so PGlite creates the database itself. */
async function firstStartWithoutTemplate (): Promise<StartFigures> {
  const template = templateDir()
  const aside = `${template}.aside`
  const dataDir = mkdtempSync(path.join(tmpdir(), 's2s-bench-data-'))
  renameSync(template, aside)
  try {
    return await startService({ DATA_DIR: dataDir })
  } finally {
    renameSync(aside, template)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  // The template as `npm run build` leaves it (the benchmarks' own compile does not make it).
  execFileSync(process.execPath, [TEMPLATE_CLI], { stdio: 'inherit' })
  console.log(`node ${process.version}; each start idles ${IDLE_MS / 1000} s before its figures are read`)
  describe('embedded, first start without the template (PGlite creates the database, migrates)', await firstStartWithoutTemplate())
  const dataDir = mkdtempSync(path.join(tmpdir(), 's2s-bench-data-'))
  try {
    describe('embedded, first start (from the template, migrates)', await startService({ DATA_DIR: dataDir }))
    describe('embedded, restart', await startService({ DATA_DIR: dataDir }))
    const alone = await runAlone(dataDir)
    const { usage, breakdown: b } = alone
    console.log(`embedded database alone (opened, one query): RSS ${mib(alone.memory.rss)}, peak ${mib(alone.memory.hwm)}; ` +
      `WebAssembly memory ${mib(b.wasmMemory)}, code ${mib(b.code)}, other anonymous ${mib(b.otherAnonymous)}, mapped files ${mib(b.files)}; ` +
      `JS heap ${mib(usage.heapUsed / MiB)}, external ${mib(usage.external / MiB)}, array buffers ${mib(usage.arrayBuffers / MiB)}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'embedded database alone: RSS', value: Math.round(alone.memory.rss), unit: 'MiB' })}`)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  const database = await freshDatabase()
  const dataDirForKey = mkdtempSync(path.join(tmpdir(), 's2s-bench-data-'))
  try {
    describe('PostgreSQL, restart', await startService({ DATABASE_URL: database.url, DATA_DIR: dataDirForKey }).then(
      () => startService({ DATABASE_URL: database.url, DATA_DIR: dataDirForKey })))
  } finally {
    rmSync(dataDirForKey, { recursive: true, force: true })
    await database.drop()
  }
}

if (process.argv[2] === 'pglite-alone') await pgliteAlone(process.argv[3] as string)
else await main()
