import { readFile } from 'node:fs/promises'
import t from 'tap'
import { createTestDatabase, eventually } from '../helpers/build.js'
import { call, compileService, NEEDS_POSTGRES, startService } from '../helpers/service-process.js'
import { loadConfig } from '../../src/config.js'

/** The pids of a process's children (Linux /proc). */
async function childrenOf (pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  return text.split(' ').filter((s) => s !== '').map(Number).sort((a, b) => a - b)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('WORKERS=2: two processes serve one port; a dead one is replaced; SIGTERM stops them all', NEEDS_POSTGRES, async (t) => {
  t.setTimeout(240_000)
  const entry = await compileService(t)
  const databaseUrl = await createTestDatabase(t)
  const service = await startService(t, { entry, databaseUrl, env: { WORKERS: '2' }, startTimeoutMs: 90_000 })
  const primary = service.child.pid as number
  const workers = await eventually(async () => {
    const pids = await childrenOf(primary)
    return pids.length === 2 ? pids : undefined
  }, 20_000, 'two workers')
  t.equal(workers.length, 2, 'two worker processes')
  t.equal((await call(service.origin, 'POST', '/v1/advertisers', { name: 'Acme' })).status, 201, 'the API answers')
  await eventually(async () => (await call(service.origin, 'GET', '/ready')).status === 200, 20_000, 'both workers ready')

  process.kill(workers[0] as number, 'SIGKILL')
  const replaced = await eventually(async () => {
    const pids = await childrenOf(primary)
    return pids.length === 2 && !pids.includes(workers[0] as number) ? pids : undefined
  }, 20_000, 'the killed worker to be replaced')
  t.ok(replaced.includes(workers[1] as number), 'the other worker kept running')
  t.equal((await call(service.origin, 'GET', '/v1/advertisers')).json.data.length, 1, 'still serving, same data')

  t.equal(await service.kill('SIGTERM'), 0, 'SIGTERM: the supervisor exits 0')
  t.same(replaced.filter(alive), [], 'and every worker has stopped with it')
})

t.test('WORKERS: a count or auto; more than one needs PostgreSQL', async (t) => {
  t.throws(() => loadConfig({ WORKERS: '2' }), { name: 'ConfigError', message: /WORKERS: 2 processes need PostgreSQL \(DATABASE_URL\)/ })
  t.throws(() => loadConfig({ WORKERS: 'many' }), { name: 'ConfigError', message: /WORKERS: "many" must be a number of processes/ })
  t.throws(() => loadConfig({ WORKERS: '0', DATABASE_URL: 'postgres://x/y' }), { name: 'ConfigError', message: /WORKERS/ })
  t.equal(loadConfig({ WORKERS: '3', DATABASE_URL: 'postgres://x/y' }).workers, 3)
  t.ok(loadConfig({ WORKERS: 'auto', DATABASE_URL: 'postgres://x/y' }).workers >= 1, 'auto: one per core')
  t.equal(loadConfig({}).workers, 1, 'one process by default')
})
