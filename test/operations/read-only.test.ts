import pg from 'pg'
import t from 'tap'
import { build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, click } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'
import { NEEDS_POSTGRES } from '../helpers/service-process.js'

async function withAdmin<T> (databaseUrl: string, work: (client: pg.Client, name: string) => Promise<T>): Promise<T> {
  const name = new URL(databaseUrl).pathname.slice(1)
  const adminUrl = new URL(databaseUrl)
  adminUrl.pathname = '/postgres'
  const client = new pg.Client({ connectionString: adminUrl.toString() })
  await client.connect()
  try {
    return await work(client, name)
  } finally {
    await client.end()
  }
}

/** Sets the test database's read-only default and ends its sessions, so the app's pool reconnects under it. */
function setReadOnly (databaseUrl: string, readOnly: boolean): Promise<void> {
  return withAdmin(databaseUrl, async (client, name) => {
    await client.query(`alter database ${name} ${readOnly ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only'}`)
    await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])
  })
}

t.test('a database that refuses writes: /ready and writes are 503 with Retry-After, clicks still redirect and land later', NEEDS_POSTGRES, async (t) => {
  const { app, databaseUrl } = await build(t)
  const { offer, affiliate, clickid: before } = await clickScene(app)
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
  const first = await eventually(async () => {
    const res = await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Refused Inc' } })
    t.not(res.statusCode, 500, 'never a 500')
    return res.statusCode === 503 && /does not take writes/.test(res.body) ? res : undefined
  }, 10_000, 'the write refused as such')
  t.ok(Number(first.headers['retry-after']) > 0, 'a refused write is a 503 with Retry-After')

  // Every kind of write, admin, panel and the advertisers' intake, is refused the same way; reads still answer.
  const writes = [
    { method: 'POST', url: '/v1/offers', payload: { title: 'Refused', url: 'https://adv.example/?c={clickid}', advertiser_id: offer.advertiser_id } },
    { method: 'PATCH', url: `/v1/offers/${offer.id}`, payload: { title: 'Renamed' } },
    { method: 'POST', url: '/v1/affiliates', payload: { name: 'Refused', email: 'refused@example.com' } },
    { method: 'POST', url: '/v1/affiliate/postbacks', headers: asAffiliate(affiliate), payload: { url: 'https://aff.example/pb?c={clickid}' } },
    { method: 'GET', url: `/postback?clickid=${before}&status=1` },
  ] as const
  for (const write of writes) {
    const res = await inject(app, { ...write })
    t.equal(res.statusCode, 503, `${write.method} ${write.url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    t.ok(Number(res.headers['retry-after']) > 0, `${write.method} ${write.url}: Retry-After`)
    t.match(res.json(), { type: /unavailable/, status: 503 })
  }
  t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).statusCode, 200, 'reads still answer')

  const clickid = await click(app, offer.id, affiliate.id)
  t.match(clickid, /^[0-9a-f]{24}$/, 'a click still redirects')

  await setReadOnly(databaseUrl as string, false)
  await eventually(async () => (await inject(app, { method: 'GET', url: '/ready' })).statusCode === 200, 15_000, '/ready to recover')
  await eventually(async () => (await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })).statusCode === 200, 15_000, 'the buffered click to land')
  t.pass('the click buffered while writes were refused was written once they were taken again')
})

/** Fails when `work` has not settled within `ms`, instead of hanging the test. */
function within<T> (ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([work, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms) })])
    .finally(() => clearTimeout(timer))
}

t.test('a write that hangs: /ready answers 503 in bounded time and never piles up checks on the pool', NEEDS_POSTGRES, async (t) => {
  const { app, databaseUrl } = await build(t)
  t.equal((await inject(app, { method: 'GET', url: '/ready' })).statusCode, 200)
  const name = new URL(databaseUrl as string).pathname.slice(1)
  const holder = new pg.Client({ connectionString: databaseUrl })
  await holder.connect()
  t.teardown(() => holder.end())
  // A lock stands in for any write that does not come back: a lost synchronous standby, a stuck disk.
  await holder.query('begin')
  await holder.query('lock table readiness_probe in access exclusive mode')

  // The answer of the check before the lock may stand for up to a second; then a probe waits out the bound.
  // Later ones find that same check, older than a second by then, still unanswered: none starts another write.
  const probe = () => within(3000, '/ready', inject(app, { method: 'GET', url: '/ready' }))
  await eventually(async () => (await probe()).statusCode === 503, 5000, '/ready to turn 503')
  for (let n = 1; n <= 3; n++) {
    const res = await probe()
    t.equal(res.statusCode, 503, `probe ${n}: 503 while the write hangs`)
    t.equal(res.headers['retry-after'], '5', `probe ${n}: with Retry-After`)
  }
  const waiting = await withAdmin(databaseUrl as string, async (client) => (await client.query<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'", [name])).rows[0]?.n)
  t.equal(waiting, 1, 'one check waits on the database, not one per probe')

  await holder.query('rollback')
  await eventually(async () => (await inject(app, { method: 'GET', url: '/ready' })).statusCode === 200, 5000, '/ready to recover')
  t.pass('ready again once the write went through')
})
