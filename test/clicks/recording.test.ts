import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import pino from 'pino'
import t from 'tap'
import { ClickRecorder } from '../../src/clicks/recorder.js'
import { findClick, insertClicks, type ClickRecord } from '../../src/clicks/repository.js'
import type { Database } from '../../src/db/tables.js'
import { build, buildWithConfig, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { clickidIn, createAffiliate, createOffer, OFFER_URL, readClick, requestPublicPath } from '../helpers/fixtures.js'
import { countClicks } from '../helpers/seeds.js'
import { newClickId } from '../../src/domain/click-ids.js'

const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const silent = pino({ level: 'silent' })

const NOW = new Date()

/** A click made now whose id ends in `tail` (16 hex characters after the 8 of its second, as the service mints them). */
function idEndingIn (tail: string): string {
  return newClickId(NOW).slice(0, 8) + tail.padStart(16, '0').slice(-16)
}

function sampleClick (clickid: string, overrides: Partial<ClickRecord> = {}): ClickRecord {
  return {
    clickid,
    offer_id: 1,
    affiliate_id: 1,
    tracking_link_id: null,
    params: { sub1: 'x' },
    ip: '127.0.0.1',
    user_agent: 'ua',
    referrer: null,
    created_at: NOW,
    ...overrides,
  }
}

t.test('recording: a click is in the database within a second of its redirect', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const res = await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=abc`, { headers: { 'user-agent': 'UA/1' } })
  const clickid = clickidIn(res.headers.location)
  const started = Date.now()
  const row = await eventually(() => findClick(app.db, clickid), 1000, 'the click row')
  t.ok(Date.now() - started <= 1000)
  t.match(row, { offer_id: offer.id, affiliate_id: affiliate.id, params: { sub1: 'abc' }, user_agent: 'UA/1' })
  t.equal(app.clickRecorder.findBuffered(clickid), undefined, 'no longer buffered once written')
  t.equal(app.clickRecorder.recorded, 1)

  const listed = await inject(app, { method: 'GET', url: `/v1/clicks?offer_id=${offer.id}&pid=${affiliate.id}` })
  t.same(listed.json().data.map((c: { clickid: string }) => c.clickid), [clickid])
})

t.test('recording: the API sees a click at once, even before the batch is written', async (t) => {
  const { app } = await buildWithConfig(t, { clickFlushIntervalMs: 3_600_000 })
  t.teardown(() => app.close())
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const clickid = clickidIn((await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`)).headers.location)
  t.ok(app.clickRecorder.findBuffered(clickid), 'still buffered: the interval is an hour')
  t.equal((await readClick(app, clickid))?.clickid, clickid, 'read from the buffer')
  const list = await inject(app, { method: 'GET', url: '/v1/clicks' })
  t.same(list.json().data.map((c: { clickid: string }) => c.clickid), [clickid], 'the list flushes first')
})

t.test('recording: clicks are flushed on close and found after a restart', async (t) => {
  const first = await buildWithConfig(t, { clickFlushIntervalMs: 3_600_000 })
  const offer = await createOffer(first.app, { url: OFFER_URL })
  const affiliate = await createAffiliate(first.app)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    ids.push(clickidIn((await requestPublicPath(first.app, `/click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=${i}`)).headers.location))
  }
  t.equal(first.app.clickRecorder.buffered, 3, 'nothing written yet')
  await first.app.close()
  t.equal(first.app.clickRecorder.recorded, 3, 'written by close')

  const { app } = await build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir })
  for (const [i, clickid] of ids.entries()) {
    const res = await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { clickid, offer_id: offer.id, affiliate_id: affiliate.id, params: { sub1: String(i) } })
  }
})

t.test('recording: flush() is safe to call concurrently', async (t) => {
  const { app } = await buildWithConfig(t, { clickFlushIntervalMs: 3_600_000 })
  t.teardown(() => app.close())
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  // More than one batch (500), so flushes overlap while batches are being written.
  for (let i = 0; i < 1200; i++) app.clickRecorder.record(sampleClick(idEndingIn(String(i)), { offer_id: offer.id, affiliate_id: affiliate.id }))
  await Promise.all([app.clickRecorder.flush(), app.clickRecorder.flush(), app.clickRecorder.flush()])
  t.equal(await countClicks(app), 1200)
  t.equal(app.clickRecorder.recorded, 1200)
  t.equal(app.clickRecorder.buffered, 0)
  await app.clickRecorder.flush()
  t.equal(app.clickRecorder.recorded, 1200, 'an empty flush writes nothing')
})

t.test('recording: a row the database refuses is dropped alone', async (t) => {
  const { app } = await buildWithConfig(t, { clickFlushIntervalMs: 3_600_000 })
  t.teardown(() => app.close())
  const recorder = new ClickRecorder({ write: (clicks) => insertClicks(app.db, clicks), log: silent, flushIntervalMs: 3_600_000 })
  t.teardown(() => recorder.close())
  recorder.record(sampleClick(idEndingIn('a'.repeat(16))))
  recorder.record(sampleClick(idEndingIn('b'.repeat(16)), { ip: 'nul\u0000byte' }))
  recorder.record(sampleClick(idEndingIn('c'.repeat(16))))
  await recorder.flush()
  t.equal(recorder.recorded, 2)
  t.equal(recorder.dropped, 1)
  t.equal(recorder.buffered, 0)
  t.ok(await findClick(app.db, idEndingIn('c'.repeat(16))))
  t.equal(await findClick(app.db, idEndingIn('b'.repeat(16))), undefined)
})

t.test('recording: while the database is unreachable clicks are kept up to a bound, then dropped', async (t) => {
  // A real connection failure: nothing listens on port 9.
  const unreachable = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:9/none', max: 1 }) }),
  })
  t.teardown(() => unreachable.destroy())
  const recorder = new ClickRecorder({
    write: (clicks) => insertClicks(unreachable, clicks), log: silent, flushIntervalMs: 20, maxBuffered: 5, closeTimeoutMs: 1000,
  })
  const accepted = Array.from({ length: 8 }, (_, i) => recorder.record(sampleClick(idEndingIn(String(i).repeat(16)))))
  t.same(accepted, [true, true, true, true, true, false, false, false])
  t.equal(recorder.dropped, 3)
  await eventually(() => recorder.failing, 3000, 'a failed write')
  t.equal(recorder.buffered, 5, 'kept for the retry')
  t.ok(recorder.findBuffered(idEndingIn('0'.repeat(16))), 'still findable by click id')
  await recorder.close()
  t.equal(recorder.dropped, 8, 'unwritten at shutdown: counted as lost')
})

t.test('recording: clicks redirect through a database outage and are written when it returns', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const { app, databaseUrl } = await build(t)
  const name = new URL(databaseUrl as string).pathname.slice(1)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const url = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  t.equal((await requestPublicPath(app, url)).statusCode, 302, 'the cache is warm')
  await app.clickRecorder.flush()

  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  t.teardown(() => admin.end())
  const allow = (yes: boolean) => admin.query(`alter database ${name} allow_connections ${yes}`)
  await allow(false)
  t.teardown(() => allow(true))
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name])

  const ids: string[] = []
  for (let i = 0; i < 20; i++) {
    const res = await requestPublicPath(app, url)
    t.equal(res.statusCode, 302, res.body)
    ids.push(clickidIn(res.headers.location))
  }
  await eventually(() => app.clickRecorder.failing, 3000, 'a failed write')
  t.equal(app.clickRecorder.buffered, 20)
  await allow(true)
  await eventually(() => app.clickRecorder.buffered === 0, 5000, 'the backlog written')
  t.equal(await countClicks(app), 21)
  t.equal(app.clickRecorder.dropped, 0)
  t.ok(await findClick(app.db, ids[19] as string))
})
