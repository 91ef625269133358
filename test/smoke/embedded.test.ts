import t from 'tap'
import { build, inject } from '../helpers/build.js'

// The embedded database (PGlite) is the default for `npm start`: it must work and keep its data.
t.test('embedded database: data survives a restart', async (t) => {
  const first = await build(t, { engine: 'pglite' })
  t.equal(first.app.database.engine, 'pglite')
  const created = await inject(first.app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Kept' } })
  t.equal(created.statusCode, 201)
  await first.app.close()

  const second = await build(t, { engine: 'pglite', dataDir: first.dataDir })
  const read = await inject(second.app, { method: 'GET', url: `/v1/advertisers/${created.json().id}` })
  t.equal(read.statusCode, 200)
  t.equal(read.json().name, 'Kept')
})
