import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { createDataDir } from '../helpers/build.js'
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
  const release = lockDataDir(dir)
  t.throws(() => lockDataDir(dir), new DataDirLockedError(
    `DATA_DIR ${path.resolve(dir)} is in use by process ${process.pid} (this process: it is already open here): one service ` +
    'process per embedded database (stop that process, choose another DATA_DIR, or use PostgreSQL with DATABASE_URL to run several)'),
  'a second open refuses, naming the directory and the holder')
  release()
  lockDataDir(dir)()
  t.pass('released: it can be taken again')

  const stale: Array<[string, string]> = [
    ['a dead process', JSON.stringify({ pid: await deadPid(), started: null })],
    ['a reused pid (this process, another start time)', JSON.stringify({ pid: process.pid, started: '1' })],
    ['a half-written file', '{"pid":'],
    ['an empty file', ''],
  ]
  for (const [what, content] of stale) {
    await writeFile(path.join(dir, LOCK_FILE), content)
    const releaseAgain = lockDataDir(dir)
    const holder = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number }
    t.equal(holder.pid, process.pid, `${what}: taken over`)
    releaseAgain()
  }
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
