import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { TestContext } from './build.js'
import { freePort } from './service-process.js'

// A PostgreSQL cluster of the test's own, in a temporary directory on a free port, that the test may stop and
// start again (the shared server on 5432 is never stopped). Removed on teardown.

const run = promisify(execFile)
const BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin'

/** Tap options for tests that need the PostgreSQL server binaries. */
export const NEEDS_PG_BINARIES = { skip: !existsSync(path.join(BIN, 'initdb')) && `no PostgreSQL binaries in ${BIN}` }

export interface OwnPostgres {
  /** Connection URL of its `postgres` database (user postgres, trust). */
  url: string
  stop(): Promise<void>
  start(): Promise<void>
}

/** initdb and pg_ctl refuse to run as root; as root they run as the `postgres` user. */
async function asOwner (command: string, args: string[]): Promise<void> {
  const file = path.join(BIN, command)
  const asRoot = process.getuid?.() === 0
  await run(asRoot ? 'runuser' : file, asRoot ? ['-u', 'postgres', '--', file, ...args] : args, { timeout: 60_000 })
}

async function ownerIds (): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

export async function startOwnPostgres (t: TestContext): Promise<OwnPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 's2s-own-pg-'))
  const ids = await ownerIds()
  if (ids !== null) await chown(dir, ids.uid, ids.gid)
  const data = path.join(dir, 'data')
  const port = await freePort()
  await asOwner('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c shared_buffers=16MB`
  let running = false
  const own: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start () {
      await asOwner('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', '-o', options, 'start'])
      running = true
    },
    async stop () {
      if (!running) return
      await asOwner('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'])
      running = false
    },
  }
  t.teardown(async () => {
    await own.stop().catch(() => asOwner('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => {}))
    await rm(dir, { recursive: true, force: true })
  })
  await own.start()
  return own
}
