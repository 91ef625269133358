import { readdir } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'
import { Migrator, type Migration, type MigrationProvider } from 'kysely'
import type { FastifyBaseLogger as Logger } from 'fastify'
import type { Db } from './database.js'

// migrations/ sits beside src/ both in the source tree (.ts, run by the test loader) and in dist/ (.js).
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

class FolderMigrationProvider implements MigrationProvider {
  async getMigrations (): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter(
      (file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts')
    )
    const migrations: Record<string, Migration> = {}
    for (const file of files.sort()) {
      const name = file.replace(/\.(ts|js)$/, '')
      migrations[name] = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration
    }
    return migrations
  }
}

/** Brings the schema up to date. Kysely takes a lock, so instances starting together are safe. */
export async function migrateToLatest (db: Db, log: Logger): Promise<void> {
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider() })
  const { error, results } = await migrator.migrateToLatest()
  for (const result of results ?? []) {
    if (result.status === 'Success') log.info({ migration: result.migrationName }, 'migration applied')
    else if (result.status === 'Error') log.error({ migration: result.migrationName }, 'migration failed')
  }
  if (error !== undefined) throw error instanceof Error ? error : new Error(String(error))
}
