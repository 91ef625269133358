import { readdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { sql } from 'kysely'
import { pino } from 'pino'
import t from 'tap'
import { createDataDir } from '../helpers/build.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { holdsDatabase, writeTemplate } from '../../src/db/pglite-template.js'

const log = pino({ level: 'silent' })

// One template for both: making it runs PGlite's initdb (seconds, and several hundred MiB).
t.test('the embedded database template', async (t) => {
  const template = path.join(await createDataDir(t), 'template')
  await writeTemplate(template)
  t.ok(holdsDatabase(template), 'the template is a database')
  t.notOk((await readdir(path.dirname(template))).some((name) => name.endsWith('.partial')), 'nothing half-made is left beside it')
  const unreadable = []
  for (const name of await readdir(template, { recursive: true })) {
    if (((await stat(path.join(template, name))).mode & 0o004) === 0) unreadable.push(name)
  }
  t.same(unreadable, [], 'every file readable by others: the image is built as root, the service runs as another user')

  await t.test('an empty DATA_DIR gets it: migrated, written to, and still there after a restart', async (t) => {
    const dataDir = await createDataDir(t)
    const first = await openDatabase({ databaseUrl: null, dataDir, pgliteTemplate: template }, log)
    await migrateToLatest(first.db, log)
    await sql`insert into advertisers (name) values ('Kept')`.execute(first.db)
    await first.close()

    const second = await openDatabase({ databaseUrl: null, dataDir, pgliteTemplate: template }, log)
    t.teardown(() => second.close())
    const rows = await sql<{ name: string }>`select name from advertisers`.execute(second.db)
    t.same(rows.rows.map((row) => row.name), ['Kept'], 'the restart opened the same database, not a new copy')
  })

  await t.test('a copy cut short (no PG_VERSION yet) is no database: the next start copies again', async (t) => {
    const dataDir = await createDataDir(t)
    const opened = await openDatabase({ databaseUrl: null, dataDir, pgliteTemplate: template }, log)
    await opened.close()
    await rm(path.join(dataDir, 'PG_VERSION'))
    await rm(path.join(dataDir, 'global'), { recursive: true })

    const again = await openDatabase({ databaseUrl: null, dataDir, pgliteTemplate: template }, log)
    t.teardown(() => again.close())
    await migrateToLatest(again.db, log)
    const rows = await sql<{ n: number }>`select count(*)::int as n from advertisers`.execute(again.db)
    t.equal(rows.rows[0]?.n, 0)
  })
})
