import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { TestContext } from '../helpers/build.js'
import { compileService } from '../helpers/service-process.js'

// Issue #18: `npm run demo` shows a newcomer the whole loop, and ends with every step green on a bare checkout.
// The demo runs here as a newcomer runs it (its own process, its own embedded database, loopback only), against
// the service built from the sources as they are now, not whatever dist/ holds.

// Two whole runs of the service on the embedded database, each bounded below (90 s to play, 45 s to stop):
// on a loaded machine they outlast the suite's default 120 s per file.
t.setTimeout(240_000)

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Every step the demo reports, in order: the whole loop, from the service's start to its stop. */
const STEPS = [
  'service started',
  'postback receiver listening',
  'advertiser created',
  'offer created',
  'offer created',
  'affiliate created',
  'affiliate created',
  'tracking link confirmed & sent',
  'tracking link confirmed & sent',
  'affiliate panel shows the sent link',
  'postback created',
  'postback created',
  'click',
  'click',
  'click',
  'wrong secure code refused',
  'conversion approved',
  'duplicate de-duplicated',
  'conversion pending',
  'status changed',
  'conversion declined',
  'postbacks received',
  'delivery log',
  'conversions',
  'advertiser postback log',
  'clicks',
  'affiliate panel shows the conversion',
  'service stopped',
]

/** A step line: a mark, the step's title, a colon. */
const STEP_LINE = /^([✔✘]) ([^:]+): /

interface Demo {
  child: ChildProcess
  /** Everything it wrote to stdout so far. */
  output(): string
  exited: Promise<number | string | null>
}

/** Starts the demo on the given server entry; on teardown it is interrupted (it then stops its service), killed if it lingers. */
function startDemo (t: TestContext, entry: string, args: string[] = []): Demo {
  const child = spawn(process.execPath, [DEMO, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }), DEMO_SERVER_ENTRY: entry },
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGINT')
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    await exited
    clearTimeout(killer)
  })
  return { child, output: () => (stderr === '' ? stdout : `${stdout}\n--- stderr ---\n${stderr}`), exited }
}

/** Waits for the demo to end by itself, or fails the test after `ms` (the teardown then stops it). */
async function ended (demo: Demo, ms: number): Promise<number | string | null> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`the demo did not end within ${ms / 1000} s:\n${demo.output()}`)), ms) })
  try {
    return await Promise.race([demo.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function stepLines (output: string): { mark: string; title: string }[] {
  return output.split('\n').flatMap((line) => {
    const match = STEP_LINE.exec(line)
    return match === null ? [] : [{ mark: match[1] ?? '', title: match[2] ?? '' }]
  })
}

async function answers (url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false)
}

t.test('the demo plays the whole loop and ends with every step green', async (t) => {
  const entry = await compileService(t)
  const demo = startDemo(t, entry)
  const code = await ended(demo, 90_000)
  const output = demo.output()

  t.equal(code, 0, 'exit 0')
  const steps = stepLines(output)
  t.same(steps.filter((s) => s.mark !== '✔'), [], 'no step failed')
  t.same(steps.map((s) => s.title), STEPS, 'every step, in order')
  t.match(output, /\nevery step passed \(28\)\n/, 'says so at the end')
  t.notMatch(output, '\x1b[', 'no colour codes when stdout is not a terminal')

  const origin = /service started: (http:\/\/127\.0\.0\.1:\d+), embedded database in (\S+)/.exec(output)
  t.ok(origin, 'names where the service ran and where its data was')
  t.match(output, `API docs                  ${origin?.[1]}/docs`, 'points at the docs')
  t.match(output, /curl -H 'API-Key: demo-admin-[0-9a-f]{32}' http:\/\/127\.0\.0\.1:\d+\/v1\/postback-deliveries/, 'the admin endpoints, with the key')
  t.match(output, /Partner Two's panel +curl -H 'API-Key: aff_[^']+' http:\/\/127\.0\.0\.1:\d+\/v1\/affiliate\/conversions/, 'the affiliate panel, with the affiliate\'s key')
  t.match(output, /POST \/partner-two {2}body: click=p2-0451&payout=3&currency=EUR&order=ORDER-5521/, 'shows what the receiver got')

  t.notOk(await answers(`${origin?.[1]}/health`), 'the service is stopped')
  t.notOk(existsSync(origin?.[2] ?? '/'), 'its temporary data is removed')
})

t.test('--keep: the service stays up to be browsed until Ctrl-C, which stops it', async (t) => {
  const entry = await compileService(t)
  const demo = startDemo(t, entry, ['--keep'])
  const deadline = Date.now() + 90_000
  while (!demo.output().includes('until you press Ctrl-C')) {
    if (demo.child.exitCode !== null) return t.fail(`the demo ended (${demo.child.exitCode}) instead of waiting:\n${demo.output()}`)
    if (Date.now() > deadline) return t.fail(`no Ctrl-C hint within 90 s:\n${demo.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const output = demo.output()
  t.same(stepLines(output).filter((s) => s.mark !== '✔'), [], 'no step failed')
  const origin = /service started: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? ''
  const adminKey = /admin API key +(\S+)/.exec(output)?.[1] ?? ''

  const docs = await fetch(`${origin}/docs`, { signal: AbortSignal.timeout(5000) })
  t.equal(docs.status, 200, 'the docs are up')
  const conversions = await fetch(`${origin}/v1/conversions`, { headers: { 'api-key': adminKey }, signal: AbortSignal.timeout(5000) })
  t.equal(((await conversions.json()) as { data: unknown[] }).data.length, 3, 'the printed admin key reads the demo\'s conversions')

  demo.child.kill('SIGINT')
  t.equal(await ended(demo, 45_000), 0, 'Ctrl-C ends it with exit 0')
  t.match(demo.output(), /\n✔ service stopped: exit 0, temporary data removed\n/, 'and it says the service stopped')
  t.notOk(await answers(`${origin}/health`), 'the service is stopped')
})
