/**
 * `npm run bench`: the benchmarks one after another, each in its own process, on PostgreSQL, then one table
 * of their figures and ratios and the peak memory of every process involved.
 *
 *   npm run bench                 # click, postback, dispatch, claim, scale, stats, metrics, memory, workers
 *   npm run bench -- click        # a subset, by name
 *
 * Each benchmark is a standalone script (`dist/bench/<name>.js`) that prints its results as text; this runner
 * shows that output as it comes, reads the figures out of it (lines such as `label  1234 req/s  p50 3 ms  p99 9 ms`,
 * `label: 1234 /s`, `label: p50 1.2 ms, p99 3.4 ms`, `ratio ... 0.62`, or a `BENCH_ROW {"measure","value","unit"}`
 * line for anything else) and watches the resident memory of the script and of every server it starts
 * (Linux /proc: VmHWM). BENCH_* variables (BENCH_DURATION, BENCH_CONNECTIONS, BENCH_PG_URL, ...) reach the scripts.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ALL = ['click', 'postback', 'dispatch', 'claim', 'scale', 'stats', 'metrics', 'memory', 'workers']
const HERE = path.dirname(fileURLToPath(import.meta.url))
/**
 * VmHWM is a high-water mark, so a process's peak is read whenever it is sampled; only growth in its last
 * half second before exiting goes unseen (the servers exit after their measured phase, idle).
 */
const SAMPLE_MS = 500

interface Row {
  bench: string
  measure: string
  throughput?: string
  p50?: string
  p99?: string
  note?: string
}

interface ProcessPeak {
  role: string
  peakMiB: number
}

interface BenchRun {
  name: string
  exitCode: number | null
  seconds: number
  rows: Row[]
  peaks: ProcessPeak[]
}

/** Figures read from one line of a benchmark's output, if it carries any. */
export function parseLine (bench: string, line: string): Row[] {
  const machine = /^BENCH_ROW (\{.*\})\s*$/.exec(line)
  if (machine !== null) {
    try {
      const { measure, value, unit } = JSON.parse(machine[1] as string) as { measure: string; value: number | string; unit?: string }
      return [{ bench, measure, note: `${value}${unit === undefined ? '' : ` ${unit}`}` }]
    } catch {
      return []
    }
  }
  const rows: Row[] = []
  const table = /^\s*(.+?)\s+([\d.]+) req\/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms/.exec(line)
  if (table !== null) {
    rows.push({ bench, measure: (table[1] as string).trim(), throughput: `${table[2]} req/s`, p50: `${table[3]} ms`, p99: `${table[4]} ms` })
  } else {
    const rate = /^\s*([^:]+?):\s+([\d.]+) ?([a-z]*\/s)\b/.exec(line) ?? /^\s*([^:]+?):[^;]*?= ([\d.]+)(\/s)/.exec(line)
    if (rate !== null) rows.push({ bench, measure: (rate[1] as string).trim(), throughput: `${rate[2]} ${rate[3] === '/s' ? 'per s' : rate[3]}` })
    const latency = /^\s*([^:]+?):\s+p50 ([\d.]+) ms, p99 ([\d.]+) ms/.exec(line)
    if (latency !== null) rows.push({ bench, measure: (latency[1] as string).trim(), p50: `${latency[2]} ms`, p99: `${latency[3]} ms` })
  }
  // `...; server CPU ratio 0.29 (bare µs / click µs)`: each `;`-separated phrase naming a ratio is one row;
  // a ratio on a line that also named a figure belongs to that figure.
  const of = rows[0]?.measure
  for (const phrase of line.split(';')) {
    const ratio = /^\s*(?:[^:]*:\s*)?([^:]*?\bratio\b[a-z /]*?) ([\d.]+)( \([^)]*\))?/i.exec(phrase)
    const measure = (ratio?.[1] ?? '').trim()
    if (ratio !== null) rows.push({ bench, measure: of === undefined ? measure : `${of}: ${measure}`, note: `${ratio[2]}${ratio[3] ?? ''}` })
  }
  return rows
}

/**
 * Every live process below `root` (children, grandchildren, ...), with its command line. Walks the
 * process tree through each main thread's `children` file (Linux with CONFIG_PROC_CHILDREN, as every
 * mainstream kernel has; without it only the script's own peak is shown) rather than scanning all of
 * /proc: the scan, ten times a second, took a quarter of a core from the very processes being measured.
 */
async function descendants (root: number): Promise<{ pid: number; args: string[] }[]> {
  const found: number[] = [root]
  for (let i = 0; i < found.length; i++) {
    const pid = found[i] as number
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
    for (const child of children.split(' ')) if (child.trim() !== '') found.push(Number(child))
  }
  const out: { pid: number; args: string[] }[] = []
  for (const pid of found) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    out.push({ pid, args: cmdline.split('\0').filter(Boolean) })
  }
  return out
}

async function peakRssMiB (pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  return kb === undefined ? null : Number(kb) / 1024
}

/** The script itself, or a server it started (named by the mode argument the scripts pass, e.g. `serve-app`). */
function roleOf (args: string[], script: string): string {
  const index = args.findIndex((arg) => arg.endsWith(`${script}.js`) || arg.endsWith(`${script}.ts`))
  if (index === -1) return path.basename(args[0] ?? 'process')
  return args[index + 1] ?? 'driver (load generator)'
}

async function runOne (name: string): Promise<BenchRun> {
  const file = path.join(HERE, `${name}.js`)
  if (!existsSync(file)) return { name, exitCode: null, seconds: 0, rows: [{ bench: name, measure: 'not run', note: `${file} does not exist` }], peaks: [] }
  console.log(`\n== ${name}`)
  const started = Date.now()
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env })
  const rows: Row[] = []
  const peaks = new Map<number, ProcessPeak>()
  let partial = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    process.stdout.write(chunk)
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) rows.push(...parseLine(name, line))
  })
  const sampler = setInterval(() => {
    if (child.pid === undefined) return
    void descendants(child.pid).then(async (processes) => {
      for (const { pid, args } of processes) {
        const peak = await peakRssMiB(pid)
        if (peak === null) continue
        const known = peaks.get(pid)
        peaks.set(pid, { role: known?.role ?? roleOf(args, name), peakMiB: Math.max(peak, known?.peakMiB ?? 0) })
      }
    })
  }, SAMPLE_MS)
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  clearInterval(sampler)
  if (partial !== '') rows.push(...parseLine(name, partial))
  return { name, exitCode, seconds: (Date.now() - started) / 1000, rows, peaks: [...peaks.values()] }
}

function printTable (runs: BenchRun[]): void {
  const rows: string[][] = [['benchmark', 'measure', 'throughput', 'p50', 'p99', 'ratio / note']]
  for (const run of runs) {
    for (const row of run.rows) rows.push([row.bench, row.measure, row.throughput ?? '', row.p50 ?? '', row.p99 ?? '', row.note ?? ''])
    const byRole = new Map<string, number>()
    for (const peak of run.peaks) byRole.set(peak.role, Math.max(peak.peakMiB, byRole.get(peak.role) ?? 0))
    for (const [role, mib] of byRole) rows.push([run.name, `peak RSS, ${role}`, '', '', '', `${mib.toFixed(0)} MiB`])
    rows.push([run.name, 'exit', '', '', '', `${run.exitCode === 0 ? 'ok' : `exit code ${run.exitCode}`} after ${run.seconds.toFixed(0)} s`])
  }
  rows.push(['runner', 'peak RSS, this process', '', '', '', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`])
  const widths = rows[0]?.map((_cell, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? []
  const format = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log('\n== results')
  console.log(format(rows[0] as string[]))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows.slice(1)) console.log(format(row))
}

async function main (): Promise<void> {
  const asked = process.argv.slice(2)
  const names = asked.length === 0 ? ALL : asked
  const unknown = names.filter((name) => !ALL.includes(name) && !existsSync(path.join(HERE, `${name}.js`)))
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${ALL.join(', ')})`)
    process.exit(2)
  }
  const database = process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  console.log(`benchmarks: ${names.join(', ')}; node ${process.version}; PostgreSQL at ${database}`)
  const runs: BenchRun[] = []
  for (const name of names) runs.push(await runOne(name))
  printTable(runs)
  // A benchmark sets a failing exit code when it misses its own target or loses work: so does the run.
  if (runs.some((run) => run.exitCode !== 0)) process.exitCode = 1
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
