import { createHash, randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, type BuildOptions } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'

// The app and its database as tests build them: a fresh database per test (cloned from a migrated template),
// the admin key, and the polling every asynchronous check uses. Every other helper builds on these.

/** The tap Test surface the helpers need (kept structural so any tap version fits). */
export interface TestContext {
  teardown(fn: () => unknown): void
}

export const ADMIN_KEY = 'test-admin-key-0123456789'
export const admin = { 'api-key': ADMIN_KEY }

/** Which engine the suite runs on: real PostgreSQL by default, PGlite for the embedded smoke run. */
export const TEST_ENGINE: 'postgres' | 'pglite' = process.env.TEST_DATABASE === 'pglite' ? 'pglite' : 'postgres'
const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * A fresh PostgreSQL database for one test, dropped on teardown. It is cloned from a template that
 * already holds the schema (CREATE DATABASE ... TEMPLATE takes ~0.2 s; migrating takes ~1 s), so the
 * app's own start-up migration finds nothing to do. Returns its URL.
 */
export async function createTestDatabase (t: TestContext): Promise<string> {
  const name = `s2s_test_${process.pid}_${randomBytes(4).toString('hex')}`
  try {
    const template = await migratedTemplate()
    await withAdminClient((client) => client.query(`create database ${name} template ${template}`))
  } catch (err) {
    // Another checkout's run, on other migrations, dropped this template as stale: build it again.
    if ((err as { code?: string }).code !== '3D000') throw err
    template = undefined
    const rebuilt = await migratedTemplate()
    await withAdminClient((client) => client.query(`create database ${name} template ${rebuilt}`))
  }
  t.teardown(() => withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`)))
  return databaseUrlFor(name)
}

async function withAdminClient<T> (work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

function databaseUrlFor (name: string): string {
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

let template: Promise<string> | undefined

/** The template database for the current migrations (named by their hash), built once across all test processes. */
function migratedTemplate (): Promise<string> {
  template ??= (async () => {
    const migrationsDir = new URL('../../migrations/', import.meta.url)
    const hash = createHash('sha256')
    for (const file of (await readdir(migrationsDir)).sort()) hash.update(file).update(await readFile(new URL(file, migrationsDir)))
    const name = `s2s_tpl_${hash.digest('hex').slice(0, 16)}`
    await withAdminClient(async (client) => {
      // Test processes run in parallel: one builds the template while the others wait on the lock.
      await client.query('select pg_advisory_lock(hashtext(\'s2s_test_template\'))')
      const found = await client.query('select 1 from pg_database where datname = $1', [name])
      if (found.rowCount !== 0) return
      // Other checkouts (other migrations) may be testing at the same time: their templates stay. Only those
      // beyond the four newest go, and only when nobody is cloning them.
      const stale = await client.query<{ datname: string }>(
        'select datname from pg_database where datname like \'s2s_tpl_%\' and datname not like \'%_building\' order by oid desc offset 4')
      for (const { datname } of stale.rows) await client.query(`drop database if exists ${datname}`).catch(() => undefined)
      const building = `${name}_building`
      await client.query(`drop database if exists ${building} with (force)`)
      await client.query(`create database ${building}`)
      const handle = await openDatabase({ databaseUrl: databaseUrlFor(building), dataDir: null }, silentLogger)
      try {
        await migrateToLatest(handle.db, silentLogger)
      } finally {
        await handle.close()
      }
      // The rename makes the template visible only once it is complete.
      await client.query(`alter database ${building} rename to ${name}`)
    })
    return name
  })()
  return template
}

const silentLogger = pino({ level: 'silent' })

let pgliteTemplate: Promise<string> | undefined

/**
 * An embedded database with the current migrations, made once per test process and copied for each
 * test: a fresh PGlite with migrations takes ~5 s to start, a copy ~1 s.
 */
function migratedPgliteTemplate (): Promise<string> {
  pgliteTemplate ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 's2s-pglite-template-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    const handle = await openDatabase({ databaseUrl: null, dataDir: dir }, silentLogger)
    try {
      await migrateToLatest(handle.db, silentLogger)
    } finally {
      await handle.close()
    }
    return dir
  })()
  return pgliteTemplate
}

/** A fresh data directory for the embedded database or generated files; removed on teardown. */
export async function createDataDir (t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 's2s-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface BuildOverrides {
  env?: Record<string, string | undefined>
  /** Reuse an existing database (a restart): pass the `databaseUrl`/`dataDir` of an earlier build. */
  databaseUrl?: string
  dataDir?: string
  /** Force an engine regardless of TEST_DATABASE (the embedded-database tests). */
  engine?: 'postgres' | 'pglite'
  /** The app's clock (click sessions, cap periods): tests move it instead of sleeping. */
  clock?: () => Date
  /** buildApp's own options beyond the config (e.g. `{ metrics: false }`). */
  options?: BuildOptions
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  databaseUrl: string | undefined
  dataDir: string
}

/** Builds the real app on a fresh database (PostgreSQL unless TEST_DATABASE=pglite) and closes it on teardown. */
export async function build (t: TestContext, overrides: BuildOverrides = {}): Promise<TestApp> {
  const engine = overrides.engine ?? TEST_ENGINE
  let dataDir = overrides.dataDir
  if (dataDir === undefined) {
    dataDir = await createDataDir(t)
    if (engine === 'pglite' && overrides.databaseUrl === undefined) await cp(await migratedPgliteTemplate(), dataDir, { recursive: true })
  }
  let databaseUrl = overrides.databaseUrl
  if (databaseUrl === undefined && engine === 'postgres') databaseUrl = await createTestDatabase(t)
  const config = loadConfig({
    ADMIN_API_KEYS: ADMIN_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true',
    ...overrides.env,
  })
  const app = await buildApp(config, { ...overrides.options, ...(overrides.clock === undefined ? {} : { clock: overrides.clock }) })
  await app.ready()
  // Tests may close the app themselves (restarts); closing again is a no-op for Fastify.
  t.teardown(() => app.close())
  return { app, config, databaseUrl, dataDir }
}

/**
 * Like `build`, with Config fields that have no environment variable (e.g. a flush interval so long that only
 * shutdown writes clicks). Not closed on teardown: the test closes it.
 */
export async function buildWithConfig (t: TestContext, overrides: Partial<Config>) {
  const dataDir = await createDataDir(t)
  const databaseUrl = TEST_ENGINE === 'postgres' ? await createTestDatabase(t) : undefined
  const config = loadConfig({ ADMIN_API_KEYS: ADMIN_KEY, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', DATA_DIR: dataDir, DATABASE_URL: databaseUrl })
  const app = await buildApp({ ...config, ...overrides })
  await app.ready()
  return { app, databaseUrl, dataDir }
}

/** `app.inject` with the admin key unless headers are given. */
export function inject (app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject({ ...options, headers: { ...admin, ...(options.headers ?? {}) } })
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T> (check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
