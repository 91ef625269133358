import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ADMIN_KEY, createDataDir, TEST_ENGINE, type TestContext } from './build.js'

// The real service as a child process (`src/server.ts`, transpiled once per state of the sources), for
// tests that kill it, run two of it, or load it from outside its event loop.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Tap options for tests whose processes share one database: PGlite has a single connection in one process. */
export const NEEDS_POSTGRES = { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }

/**
 * Transpiles `src/` and `migrations/` to plain ESM (type-only, like `tsc --isolatedModules`: the suite's
 * typecheck already judged the types) under node_modules/.cache, so `node_modules` resolves as from the
 * repository. Seconds faster than `tsc -p`, and a restart then costs only Node's start. The output is
 * keyed by the sources' hash, so the test files of one run share it.
 */
export async function compileService (t: TestContext): Promise<string> {
  const files: string[] = []
  for (const folder of ['src', 'migrations']) files.push(...(await listTs(path.join(ROOT, folder))))
  const sources = new Map<string, string>()
  const hash = createHash('sha256')
  for (const file of files.sort()) {
    const source = await readFile(file, 'utf8')
    sources.set(file, source)
    hash.update(path.relative(ROOT, file)).update('\0').update(source).update('\0')
  }
  const cache = path.join(ROOT, 'node_modules', '.cache', 's2s-resilience')
  const outDir = path.join(cache, hash.digest('hex').slice(0, 16))
  const entry = path.join(outDir, 'src', 'server.js')
  if (await exists(path.join(outDir, 'package.json'))) return entry

  await pruneCache(cache)
  const { default: ts } = await import('typescript')
  const staging = `${outDir}.${process.pid}-${randomBytes(4).toString('hex')}`
  t.teardown(() => rm(staging, { recursive: true, force: true }))
  for (const [file, source] of sources) {
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    })
    const target = path.join(staging, path.relative(ROOT, file)).replace(/\.ts$/, '.js')
    await mkdir(path.dirname(target), { recursive: true })
    await writeFile(target, outputText)
  }
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string }
  await writeFile(path.join(staging, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module' }))
  // Another test file may have finished the same output first: then its copy is used.
  await rename(staging, outDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
  })
  return entry
}

/** Outputs of older sources, a day untouched, go (they are only a cache). */
async function pruneCache (cache: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000
  for (const entry of await readdir(cache).catch(() => [] as string[])) {
    const full = path.join(cache, entry)
    const info = await stat(full).catch(() => null)
    if (info !== null && info.mtimeMs < dayAgo) await rm(full, { recursive: true, force: true }).catch(() => {})
  }
}

async function exists (file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false)
}

async function listTs (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listTs(full)))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full)
  }
  return out
}

/** A TCP port free on 127.0.0.1 right now (PORT=0 would not tell us which one the child took). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface ServiceProcess {
  child: ChildProcess
  port: number
  origin: string
  /** Every stdout line (pino JSON) the process wrote so far. */
  lines: string[]
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | string | null>
  /** Peak resident set size so far, in MiB (Linux VmHWM), or null when unreadable. */
  peakRssMiB(): Promise<number | null>
  kill(signal: NodeJS.Signals): Promise<number | string | null>
}

export interface ServiceOptions {
  entry: string
  databaseUrl: string
  env?: Record<string, string>
  /** Reuse a data directory (a restart); a fresh one otherwise. */
  dataDir?: string
  /** How long the service may take to answer `/health` (30 s; several processes starting take longer on a busy machine). */
  startTimeoutMs?: number
}

/** Starts `node <entry>` on a free port and waits until `/health` answers; killed (SIGKILL) on teardown. */
export async function startService (t: TestContext, options: ServiceOptions): Promise<ServiceProcess> {
  const port = await freePort()
  const dataDir = options.dataDir ?? (await createDataDir(t))
  const child = spawn(process.execPath, [options.entry], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: options.databaseUrl,
      ADMIN_API_KEYS: ADMIN_KEY,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true',
      ...options.env,
    },
  })
  const lines: string[] = []
  let partial = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  t.teardown(() => kill('SIGKILL'))

  const origin = `http://127.0.0.1:${port}`
  const startTimeoutMs = options.startTimeoutMs ?? 30_000
  const deadline = Date.now() + startTimeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${stderr}\n${lines.slice(-5).join('\n')}`)
    const ok = await fetch(`${origin}/health`).then((res) => res.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) throw new Error(`service did not answer /health within ${startTimeoutMs / 1000} s: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    child,
    port,
    origin,
    lines,
    exited,
    kill,
    peakRssMiB: () => peakRssMiB(child.pid),
  }
}

/** VmHWM of a live process, in MiB. */
export async function peakRssMiB (pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
    return kb === undefined ? null : Math.round(Number(kb) / 1024)
  } catch {
    return null
  }
}

/** A small HTTP client for a service process: JSON in and out, the admin key unless `key` is given. */
export async function call (
  origin: string, method: string, url: string, body?: unknown, key: string = ADMIN_KEY
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${origin}${url}`, {
    method,
    redirect: 'manual',
    headers: { 'api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown = null
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {
    json = text
  }
  return { status: res.status, json, headers: res.headers }
}

/** Runs `task(i)` for i in [0, count) with at most `parallel` at once: load from outside the service. */
export async function inParallel (count: number, parallel: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker))
}
