import { spawn } from 'node:child_process'
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { createDataDir, eventually } from '../helpers/build.js'
import { call, compileService, startService } from '../helpers/service-process.js'
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/db/data-dir-lock.js'

/** The pid of a process that has ended. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

/** The newest lock generation in `dir` (the one that says who holds it), as its number and file. */
async function newestLock (dir: string): Promise<{ n: number; file: string }> {
  const generations = (await readdir(dir))
    .map((name) => /^s2s-tracker\.lock(?:\.(\d+))?$/.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ n: Number(match[1] ?? 0), file: path.join(dir, match[0]) }))
    .sort((a, b) => b.n - a.n)
  if (generations[0] === undefined) throw new Error(`no lock in ${dir}`)
  return generations[0]
}

async function holderPid (dir: string): Promise<number> {
  return (JSON.parse(await readFile((await newestLock(dir)).file, 'utf8')) as { pid: number }).pid
}

/** Writes a lock as a process would that took the directory after whoever holds it now. */
async function writeNewerLock (dir: string, content: string): Promise<string> {
  const file = path.join(dir, `${LOCK_FILE}.${(await newestLock(dir).catch(() => ({ n: 0 }))).n + 1}`)
  await writeFile(file, content)
  return file
}

t.test('one holder at a time; a lock nobody holds any more is taken over', async (t) => {
  const dir = await createDataDir(t)
  const release = await lockDataDir(dir)
  await t.rejects(lockDataDir(dir), new DataDirLockedError(
    `DATA_DIR ${path.resolve(dir)} is in use by process ${process.pid} (this process: it is already open here): one service ` +
    'process per embedded database (stop that process, choose another DATA_DIR, or use PostgreSQL with DATABASE_URL to run several)'),
  'a second open refuses, naming the directory and the holder')
  release()
  ;(await lockDataDir(dir))()
  t.pass('released: it can be taken again')

  const stale: Array<[string, string]> = [
    ['a dead process', JSON.stringify({ pid: await deadPid(), started: null })],
    ['a reused pid (this process, another start time)', JSON.stringify({ pid: process.pid, started: '1' })],
    ['a file that is not a lock', '{"pid":'],
    ['an empty file', ''],
  ]
  for (const [what, content] of stale) {
    await writeNewerLock(dir, content)
    const releaseAgain = await lockDataDir(dir)
    t.equal(await holderPid(dir), process.pid, `${what}: taken over`)
    releaseAgain()
  }
  t.equal((await readdir(dir)).length, 1, 'older generations are removed: one file is left, the released one')
})

t.test('a bare lock file of an earlier version is honoured: refused while its process lives, taken over after', async (t) => {
  const dir = await createDataDir(t)
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.teardown(() => { holder.kill('SIGKILL') })
  await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid, started: null }))
  await t.rejects(lockDataDir(dir), { name: 'DataDirLockedError', message: `DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid}:` })

  await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), started: null }))
  const release = await lockDataDir(dir)
  t.equal(await holderPid(dir), process.pid, 'a bare lock of a dead process is taken over')
  await t.rejects(readFile(path.join(dir, LOCK_FILE)), { code: 'ENOENT' }, 'and removed')
  release()
})

t.test('a live holder on this machine refuses: found by its pid', async (t) => {
  const dir = await createDataDir(t)
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.teardown(() => { holder.kill('SIGKILL') })
  await writeNewerLock(dir, JSON.stringify({ pid: holder.pid, started: null }))
  await t.rejects(lockDataDir(dir), { name: 'DataDirLockedError', message: `DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid}:` })
})

// A pid read in another pid namespace (another container on the same volume, another host on a shared disk)
// says nothing here: pid 1 is alive in every container. There the holder's heartbeat tells.
t.test('a holder elsewhere is judged by its heartbeat: refreshed refuses, silent is taken over', async (t) => {
  const dir = await createDataDir(t)
  const elsewhere = JSON.stringify({ pid: 1, started: '1', place: 'another-boot/pid:[1]' })
  const timing = { heartbeatMs: 50, staleMs: 400 }

  const file = await writeNewerLock(dir, elsewhere)
  const beat = setInterval(() => { utimes(file, new Date(), new Date()).catch(() => {}) }, 50)
  await t.rejects(lockDataDir(dir, timing), { name: 'DataDirLockedError', message: /is in use by process 1 in another container or on another host/ },
    'a refreshed lock from elsewhere refuses')
  clearInterval(beat)

  const started = Date.now()
  const release = await lockDataDir(dir, timing)
  t.ok(Date.now() - started >= timing.staleMs, 'taken over only after it stayed silent for the whole wait')
  t.equal(await holderPid(dir), process.pid, 'a silent lock from elsewhere is taken over')

  const mine = (await newestLock(dir)).file
  const before = (await stat(mine)).mtimeMs
  await eventually(async () => (await stat(mine)).mtimeMs !== before, 2000, 'the holder to refresh its lock')
  t.pass('the holder refreshes its own lock, so others elsewhere can tell it is alive')
  release()
  t.match(JSON.parse(await readFile((await newestLock(dir)).file, 'utf8')), { pid: process.pid, released: true }, 'released')
})

// Processes that take the directory, hold it a moment, and let go, or die holding it (their lock left for the
// others to judge stale), as fast as they can, until the time is up. Whoever holds the lock creates a marker
// file exclusively: a marker that already exists would mean two holders.
const HAMMER = `
const [lockModule, dir, until] = process.argv.slice(1)
const { lockDataDir } = await import(lockModule)
const { writeFileSync, unlinkSync } = await import('node:fs')
const counts = { held: 0, refused: 0, twoHolders: 0 }
while (Date.now() < Number(until)) {
  let release
  try {
    release = await lockDataDir(dir, { heartbeatMs: 50, staleMs: 300 })
  } catch (err) {
    if (err.name !== 'DataDirLockedError') throw err
    counts.refused++
    continue
  }
  counts.held++
  try {
    writeFileSync(dir + '/holder', String(process.pid), { flag: 'wx' })
  } catch (err) {
    if (err.code !== 'EEXIST') throw err
    counts.twoHolders++
    continue
  }
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
  unlinkSync(dir + '/holder')
  if (Math.random() < 0.25) {
    console.log(JSON.stringify({ ...counts, died: 1 }))
    process.exit(0)
  }
  release()
}
console.log(JSON.stringify({ ...counts, died: 0 }))
`

t.test('three processes taking, releasing and dying on one DATA_DIR: never two holders', async (t) => {
  t.setTimeout(120_000)
  const entry = await compileService(t)
  const lockModule = path.join(path.dirname(entry), 'db', 'data-dir-lock.js')
  const dir = await createDataDir(t)
  // Until the lock has changed hands often enough, also from dead holders, or the time is up (a busy
  // machine starts processes slowly); each process hammers for at most two seconds.
  const hardDeadline = Date.now() + 60_000
  const totals = { held: 0, refused: 0, twoHolders: 0, died: 0 }
  const enough = () => totals.held >= 30 && totals.died >= 5 && totals.refused >= 30
  async function worker (): Promise<void> {
    while (!enough() && Date.now() < hardDeadline) {
      const until = Math.min(Date.now() + 2000, hardDeadline)
      const child = spawn(process.execPath, ['--input-type=module', '-e', HAMMER, lockModule, dir, String(until)], { stdio: ['ignore', 'pipe', 'inherit'] })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      clearTimeout(killer)
      if (code !== 0) throw new Error(`a hammering process exited ${code}`)
      const counts = JSON.parse(output) as typeof totals
      for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += counts[key]
    }
  }
  await Promise.all([worker(), worker(), worker()])
  t.equal(totals.twoHolders, 0, `never two holders (${totals.held} times held, ${totals.refused} refused, ${totals.died} died holding)`)
  t.ok(enough(), 'the lock changed hands often, also from dead holders')
})

t.test('a second service on the same DATA_DIR refuses to start; a killed one does not block a restart', async (t) => {
  const entry = await compileService(t)
  const dataDir = await createDataDir(t)
  const first = await startService(t, { entry, databaseUrl: '', dataDir })
  t.equal((await call(first.origin, 'POST', '/v1/advertisers', { name: 'Acme' })).status, 201)

  const second = spawn(process.execPath, [entry], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ADMIN_API_KEYS: 'test-admin-key-0123456789' },
  })
  let output = ''
  second.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  second.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const killer = setTimeout(() => second.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>((resolve) => second.once('exit', resolve))
  clearTimeout(killer)
  t.equal(code, 1, 'the second process exits 1')
  t.match(output, `DATA_DIR ${path.resolve(dataDir)} is in use by process ${first.child.pid}`, 'naming the directory and the holder')
  t.equal((await call(first.origin, 'GET', '/v1/advertisers')).json.data.length, 1, 'the first one still serves its data')

  const migrate = spawn(process.execPath, [path.join(path.dirname(entry), 'db', 'migrate-cli.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ADMIN_API_KEYS: 'test-admin-key-0123456789' },
  })
  let migrateErr = ''
  migrate.stderr.on('data', (chunk: Buffer) => { migrateErr += chunk.toString() })
  t.equal(await new Promise<number | null>((resolve) => migrate.once('exit', resolve)), 1, '`npm run migrate` on a held DATA_DIR exits 1')
  t.equal(migrateErr, `migrate: DATA_DIR ${path.resolve(dataDir)} is in use by process ${first.child.pid}: one service process per ` +
    'embedded database (stop that process, choose another DATA_DIR, or use PostgreSQL with DATABASE_URL to run several)\n',
  'saying why in one line, not a stack trace')

  await first.kill('SIGKILL')
  const restarted = await startService(t, { entry, databaseUrl: '', dataDir })
  t.equal((await call(restarted.origin, 'GET', '/v1/advertisers')).json.data.length, 1, 'restarted after a kill, with the data')
  await restarted.kill('SIGTERM')
  t.match(JSON.parse(await readFile((await newestLock(dataDir)).file, 'utf8')), { released: true }, 'a clean stop releases the lock')
})
