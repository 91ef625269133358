import t from 'tap'
import { sql } from 'kysely'
import { PREPARED } from '../../src/db/database.js'
import { build, TEST_ENGINE } from '../helpers/build.js'
import { advertiserPostback, click } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'

// Named prepared statements are a PostgreSQL-server matter: PGlite sees the marker as a comment.
if (TEST_ENGINE === 'pglite') {
  t.pass('PostgreSQL only')
} else {
  t.test('a statement marked PREPARED becomes a named prepared statement of its connection; others do not', async (t) => {
    const { app } = await build(t)
    const names = await app.db.connection().execute(async (connection) => {
      await sql`${PREPARED} select 1 as one`.execute(connection)
      await sql`${PREPARED} select 1 as one`.execute(connection)
      await sql`select 2 as two`.execute(connection)
      const rows = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(connection)
      return rows.rows
    })
    t.equal(names.length, 1, 'one statement prepared, once')
    t.match(names[0], { name: /^s2s_[0-9a-f]{20}$/, statement: /^\/\* prepared \*\/ select 1 as one$/ })
  })

  t.test('a column added while the service runs (a newer instance\'s migration) does not break intake', async (t) => {
    const { app } = await build(t)
    const s = await clickScene(app)
    // Enough conversions that the batch statement is prepared on the connections in use.
    for (let i = 0; i < 8; i++) {
      const res = await advertiserPostback(app, { clickid: await click(app, s.offer.id, s.affiliate.id), action_id: `before-${i}` })
      t.equal(res.statusCode, 200)
    }
    await sql`alter table conversions add column added_by_a_newer_release text`.execute(app.db)
    for (let i = 0; i < 8; i++) {
      const res = await advertiserPostback(app, { clickid: await click(app, s.offer.id, s.affiliate.id), action_id: `after-${i}` })
      t.equal(res.statusCode, 200, `conversion ${i} after the column was added: ${res.body}`)
    }
  })

  // Last: the names are kept per process, and this fills them.
  t.test('marked statements beyond the bound still run, unnamed', async (t) => {
    const { app } = await build(t)
    const { results, prepared } = await app.db.connection().execute(async (connection) => {
      const results: number[] = []
      // Distinct texts: more than the 64 names the service keeps (a marked text that varies is a bug).
      for (let i = 0; i < 80; i++) results.push((await sql<{ n: number }>`${PREPARED} select ${sql.lit(i)}::int as n`.execute(connection)).rows[0]!.n)
      const count = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(connection)
      return { results, prepared: count.rows[0]!.n }
    })
    t.same(results, Array.from({ length: 80 }, (_, i) => i))
    t.ok(prepared <= 64, `at most 64 prepared (${prepared})`)
  })
}
