import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import pg from 'pg'
import type { FastifyBaseLogger as Logger } from 'fastify'
import { lockDataDir } from './data-dir-lock.js'
import { copyTemplate, holdsDatabase, templateDir } from './pglite-template.js'
import type { Database } from './tables.js'

export type Db = Kysely<Database>

/**
 * The database handle plus the two things Kysely does not abstract: LISTEN/NOTIFY (cache invalidation
 * and dispatcher wake-ups across instances) and which engine runs underneath.
 */
export interface DatabaseHandle {
  db: Db
  engine: 'postgres' | 'pglite'
  /** Subscribes to a notification channel; returns an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>
  /** Connections of the PostgreSQL pool (total, idle, callers waiting); null on the embedded database. */
  poolStats(): { total: number; idle: number; waiting: number } | null
  close(): Promise<void>
}

const INT8_OID = 20
const POOL_SIZE = 20

const PREPARED_MARK = '/* prepared */'
/** More distinct marked statements than the service has means a marked text varies: stop naming them. */
const MAX_PREPARED = 64
const preparedNames = new Map<string, string>()

/**
 * Put first in a hot statement (`sql\`${PREPARED} insert ...\``) to have PostgreSQL parse and plan it once per
 * connection instead of on every execution: it becomes a named prepared statement, named after its text.
 * Planning the intake's batch statement took about as much of the server's CPU as running it.
 *
 * Only for statements whose text never varies (arrays as parameters, not lists of values): each distinct
 * text stays prepared on every pooled connection. Only where no table's size can change the right plan:
 * after five runs PostgreSQL may keep one generic plan until the table is next analyzed, so a plan made
 * while a table was small (a sequential scan) would be kept while a burst grows it. Inserts that read
 * only configuration tables (offers, postbacks) qualify; a lookup or an update of a growing table does not
 * (the dispatcher pins its plans in functions instead). And only with named result columns, never `*`:
 * PostgreSQL refuses to run a prepared statement whose result changed shape, as it would when a newer
 * instance's migration adds a column. A comment to any other engine (PGlite ignores it).
 */
export const PREPARED = sql.raw(PREPARED_MARK)

function preparedName (text: string): string | undefined {
  let name = preparedNames.get(text)
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `s2s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`
    preparedNames.set(text, name)
  }
  return name
}

/** A pg client that runs statements marked with PREPARED as named prepared statements. */
class PreparingClient extends pg.Client {
  override query (...args: any[]): any {
    const [text, second, third] = args as [unknown, unknown, unknown]
    if (typeof text === 'string' && text.startsWith(PREPARED_MARK)) {
      const name = preparedName(text)
      // query(text, callback) as well as query(text, values[, callback]).
      const [values, callback] = typeof second === 'function' ? [undefined, second] : [second, third]
      if (name !== undefined) return super.query({ name, text, values: values as unknown[] | undefined }, callback as never)
    }
    return (super.query as (...forwarded: unknown[]) => unknown)(...args)
  }
}

function queryLogger (log: Logger) {
  return (event: LogEvent) => {
    if (event.level === 'error') {
      log.debug({ err: event.error, sql: event.query.sql, ms: event.queryDurationMillis }, 'query failed')
    } else if (log.level === 'trace') {
      log.trace({ sql: event.query.sql, ms: event.queryDurationMillis }, 'query')
    }
  }
}

export async function openDatabase (
  options: {
    databaseUrl: string | null
    dataDir: string | null
    /** The embedded database's template (see pglite-template.ts); by default the build's, if it made one. */
    pgliteTemplate?: string
  },
  log: Logger
): Promise<DatabaseHandle> {
  if (options.databaseUrl !== null) return openPostgres(options.databaseUrl, log)
  return openPglite(options.dataDir, options.pgliteTemplate ?? templateDir(), log)
}

async function openPostgres (connectionString: string, log: Logger): Promise<DatabaseHandle> {
  // Ids fit in a JS number (2^53); numeric stays a string so money is never a float.
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  }
  const pool = new pg.Pool({ connectionString, max: POOL_SIZE, types, Client: PreparingClient })
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL connection failed'))
  // A checked-out client whose connection breaks between two queries (a server restart, a terminated
  // backend) emits 'error' with no query to fail; unhandled, that would end the process. Its next query
  // fails instead and the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', (err) => log.warn({ err }, 'PostgreSQL connection failed'))
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLogger(log) })

  let listener: pg.Client | null = null
  const handlers = new Map<string, Set<(payload: string) => void>>()
  let closed = false

  async function connectListener (): Promise<void> {
    const client = new pg.Client({ connectionString })
    client.on('notification', (message) => {
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '')
    })
    client.on('error', (err) => {
      if (listener !== client) return
      log.warn({ err }, 'LISTEN connection failed; reconnecting')
      listener = null
      client.end().catch(() => {})
      reconnect(1)
    })
    await client.connect()
    try {
      for (const channel of handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    listener = client
  }

  /**
   * Keeps trying (backing off to 30 s) for as long as the service runs. Notifications sent while the
   * listener was away are lost, so every handler then hears "*": drop whatever you cached, look again.
   */
  function reconnect (attempt: number): void {
    if (closed) return
    const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))
    setTimeout(() => {
      if (closed) return
      connectListener().then(
        () => {
          log.info({ attempt }, 'LISTEN connection restored')
          for (const set of handlers.values()) for (const handler of set) handler('*')
        },
        (err: unknown) => {
          log.warn({ err, attempt }, 'LISTEN reconnection failed; retrying')
          reconnect(attempt + 1)
        }
      )
    }, delay).unref()
  }

  return {
    db,
    engine: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async listen (channel, onPayload) {
      let set = handlers.get(channel)
      if (set === undefined) {
        set = new Set()
        handlers.set(channel, set)
        if (listener === null) await connectListener()
        else await listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      }
      set.add(onPayload)
      return async () => {
        set.delete(onPayload)
      }
    },
    async close () {
      if (closed) return
      closed = true
      await listener?.end().catch(() => {})
      await db.destroy()
    },
  }
}

/**
 * PostgreSQL settings for the embedded database, given at every start: they win over the directory's
 * postgresql.conf, so directories created by older versions get them too. In PGlite, PostgreSQL's shared
 * memory is part of the WebAssembly memory and zeroed when PostgreSQL starts, and a WebAssembly memory never
 * shrinks: shared_buffers is resident from the first second to the last. PostgreSQL's default of 128MB made
 * it most of the embedded service's memory; pages beyond the buffers are read through the operating system's
 * file cache instead, which the kernel can reclaim.
 */
const PGLITE_SETTINGS = ['shared_buffers=32MB']

async function openPglite (dataDir: string | null, template: string, log: Logger): Promise<DatabaseHandle> {
  let unlock = () => {}
  if (dataDir !== null) {
    mkdirSync(dataDir, { recursive: true })
    unlock = await lockDataDir(dataDir)
  }
  if (dataDir !== null && !holdsDatabase(dataDir)) {
    try {
      const copied = await copyTemplate(template, dataDir)
      log.info({ dataDir, template: copied ? template : null }, 'creating the embedded database')
    } catch (err) {
      unlock()
      throw err
    }
  }
  const pglite = new PGlite({
    dataDir: dataDir ?? undefined,
    parsers: { [INT8_OID]: (value: string) => Number(value) },
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((setting) => ['-c', setting])],
  })
  try {
    await pglite.waitReady
  } catch (err) {
    unlock()
    throw err
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), log: queryLogger(log) })
  let closed = false
  return {
    db,
    engine: 'pglite',
    poolStats: () => null,
    async listen (channel, onPayload) {
      const unsubscribe = await pglite.listen(channel, onPayload)
      return unsubscribe
    },
    async close () {
      if (closed) return
      closed = true
      // Destroying the Kysely driver closes PGlite as well.
      try {
        await db.destroy()
      } finally {
        unlock()
      }
    },
  }
}
