import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ADMIN_KEY, createDataDir } from '../helpers/build.js'
import { compileService, freePort } from '../helpers/service-process.js'

/** Runs the service's entry with `env` until it exits by itself (bounded); what it wrote, and its exit code. */
async function runToExit (entry: string, env: Record<string, string>, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: { PATH: process.env.PATH ?? '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)))
  clearTimeout(killer)
  return { code, stdout, stderr }
}

t.test('start-up failures say what is wrong and exit 1', async (t) => {
  const entry = await compileService(t)
  const base = { ADMIN_API_KEYS: ADMIN_KEY, HOST: '127.0.0.1', PORT: String(await freePort()), DATA_DIR: await createDataDir(t) }

  const badConfig = await runToExit(entry, { ...base, PORT: 'abc', TRUST_PROXY: 'garbage', HOST: 'not a host!' })
  t.equal(badConfig.code, 1, 'bad configuration: exit 1')
  for (const name of ['PORT', 'TRUST_PROXY', 'HOST']) t.match(badConfig.stderr, name, `names ${name}`)
  t.notMatch(badConfig.stderr, /\n\s+at /, 'no stack trace')

  // Even at LOG_LEVEL=silent: a service that exits says why. The URL (it may hold a password) is never printed.
  const unreachable = await runToExit(entry, { ...base, DATABASE_URL: 'postgres://postgres:s3cret-pw@127.0.0.1:1/none', LOG_LEVEL: 'silent' })
  t.equal(unreachable.code, 1, 'unreachable database: exit 1')
  const lines = unreachable.stdout.trim().split('\n').filter((line) => line !== '')
  t.equal(lines.length, 1, 'one line')
  const line = JSON.parse(lines[0] ?? '{}') as { level: number; msg: string; err?: { code?: string } }
  t.equal(line.level, 60, 'fatal')
  t.match(line.msg, /^could not start: DATABASE_URL: /)
  t.equal(line.err?.code, 'ECONNREFUSED')
  t.notMatch(unreachable.stdout + unreachable.stderr, 's3cret-pw', 'the password is in no output')
})

t.test('a malformed .env line stops the start, naming the line', async (t) => {
  const entry = await compileService(t)
  const dir = await createDataDir(t)
  await writeFile(path.join(dir, '.env'), 'PORT=3000\nHOST 127.0.0.1\n')
  const run = await runToExit(entry, { ADMIN_API_KEYS: ADMIN_KEY, DATA_DIR: dir }, dir)
  t.equal(run.code, 1, 'exit 1')
  t.match(run.stderr, '.env line 2: expected NAME=value, found "HOST 127.0.0.1"')
})
