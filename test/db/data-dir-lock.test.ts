import { spawn } from 'node:child_process'
import { readFile, stat, utimes, writeFile } from 'node:fs/promises'
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
    ['a half-written file', '{"pid":'],
    ['an empty file', ''],
  ]
  for (const [what, content] of stale) {
    await writeFile(path.join(dir, LOCK_FILE), content)
    const releaseAgain = await lockDataDir(dir)
    const holder = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number }
    t.equal(holder.pid, process.pid, `${what}: taken over`)
    releaseAgain()
  }
})

t.test('a live holder on this machine refuses: found by its pid', async (t) => {
  const dir = await createDataDir(t)
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.teardown(() => { holder.kill('SIGKILL') })
  await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid, started: null }))
  await t.rejects(lockDataDir(dir), { name: 'DataDirLockedError', message: `DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid}:` })
})

// A pid read in another pid namespace (another container on the same volume, another host on a shared disk)
// says nothing here: pid 1 is alive in every container. There the holder's heartbeat tells.
t.test('a holder elsewhere is judged by its heartbeat: refreshed refuses, silent is taken over', async (t) => {
  const dir = await createDataDir(t)
  const file = path.join(dir, LOCK_FILE)
  const elsewhere = JSON.stringify({ pid: 1, started: '1', place: 'another-boot/pid:[1]' })
  const timing = { heartbeatMs: 50, staleMs: 400 }

  await writeFile(file, elsewhere)
  const beat = setInterval(() => { utimes(file, new Date(), new Date()).catch(() => {}) }, 50)
  await t.rejects(lockDataDir(dir, timing), { name: 'DataDirLockedError', message: /is in use by process 1 in another container or on another host/ },
    'a refreshed lock from elsewhere refuses')
  clearInterval(beat)

  const started = Date.now()
  const release = await lockDataDir(dir, timing)
  t.ok(Date.now() - started >= timing.staleMs, 'taken over only after it stayed silent for the whole wait')
  t.equal(JSON.parse(await readFile(file, 'utf8')).pid, process.pid, 'a silent lock from elsewhere is taken over')

  const before = (await stat(file)).mtimeMs
  await eventually(async () => (await stat(file)).mtimeMs !== before, 2000, 'the holder to refresh its lock')
  t.pass('the holder refreshes its own lock, so others elsewhere can tell it is alive')
  release()
  await t.rejects(readFile(file), { code: 'ENOENT' }, 'released')
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

  await first.kill('SIGKILL')
  const restarted = await startService(t, { entry, databaseUrl: '', dataDir })
  t.equal((await call(restarted.origin, 'GET', '/v1/advertisers')).json.data.length, 1, 'restarted after a kill, with the data')
  await restarted.kill('SIGTERM')
  await t.rejects(readFile(path.join(dataDir, LOCK_FILE)), { code: 'ENOENT' }, 'a clean stop removes the lock')
})
