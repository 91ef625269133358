import pg from 'pg'
import t from 'tap'
import { build, eventually, inject } from '../helpers/build.js'
import { click, scene } from '../helpers/conversions.js'
import { NEEDS_POSTGRES } from '../helpers/service-process.js'

/** Sets the test database's read-only default and ends its sessions, so the app's pool reconnects under it. */
async function setReadOnly (databaseUrl: string, readOnly: boolean): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1)
  const adminUrl = new URL(databaseUrl)
  adminUrl.pathname = '/postgres'
  const client = new pg.Client({ connectionString: adminUrl.toString() })
  await client.connect()
  try {
    await client.query(`alter database ${name} ${readOnly ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only'}`)
    await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])
  } finally {
    await client.end()
  }
}

t.test('a database that refuses writes: /ready and writes are 503 with Retry-After, clicks still redirect and land later', NEEDS_POSTGRES, async (t) => {
  const { app, databaseUrl } = await build(t)
  const { offer, affiliate } = await scene(app)
  t.equal((await inject(app, { method: 'GET', url: '/ready' })).statusCode, 200, 'ready while it takes writes')

  await setReadOnly(databaseUrl as string, true)
  t.teardown(() => setReadOnly(databaseUrl as string, false))
  const notReady = await eventually(async () => {
    const res = await inject(app, { method: 'GET', url: '/ready' })
    return res.statusCode === 503 ? res : undefined
  }, 10_000, '/ready to turn 503')
  t.equal(notReady.headers['retry-after'], '5', '/ready says when to look again')
  t.match(notReady.headers['content-type'], /application\/problem\+json/)

  // The first call after the sessions ended may meet a dropped connection (also a 503); then the refusal.
  const write = await eventually(async () => {
    const res = await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Refused Inc' } })
    t.not(res.statusCode, 500, 'never a 500')
    return res.statusCode === 503 && /does not take writes/.test(res.body) ? res : undefined
  }, 10_000, 'the write refused as such')
  t.ok(Number(write.headers['retry-after']) > 0, 'a refused write is a 503 with Retry-After')
  t.match(write.json(), { type: /unavailable/, status: 503 })

  const clickid = await click(app, offer.id, affiliate.id)
  t.match(clickid, /^[0-9a-f]{24}$/, 'a click still redirects')

  await setReadOnly(databaseUrl as string, false)
  await eventually(async () => (await inject(app, { method: 'GET', url: '/ready' })).statusCode === 200, 15_000, '/ready to recover')
  await eventually(async () => (await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })).statusCode === 200, 15_000, 'the buffered click to land')
  t.pass('the click buffered while writes were refused was written once they were taken again')
})
