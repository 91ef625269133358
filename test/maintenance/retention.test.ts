import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, inject } from '../helpers/build.js'
import { advertiserPostback, createAdvertiser, createAffiliate, createOffer } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery } from '../helpers/seeds.js'
import { clickMonth, existingClickMonths, retireClickPartitionsBefore } from '../../src/clicks/partitions.js'
import { findClick } from '../../src/clicks/repository.js'
import { newClickId } from '../../src/domain/click-ids.js'
import { RETENTION_BATCH } from '../../src/maintenance/retention.js'
import { foldClicksUntil } from '../../src/stats/click-fold.js'

const DAY_MS = 86_400_000

async function recordAt (app: FastifyInstance, at: Date, offerId: number, affiliateId: number): Promise<string> {
  const clickid = newClickId(at)
  app.clickRecorder.record({
    clickid, offer_id: offerId, affiliate_id: affiliateId, tracking_link_id: null, params: { sub1: 'kept-on-the-conversion' }, ip: '203.0.113.7', user_agent: 'UA', referrer: null, created_at: at,
  })
  await app.clickRecorder.flush()
  return clickid
}

t.test('click retention drops whole months past CLICK_RETENTION_DAYS; conversions and their postbacks never change', async (t) => {
  const { app } = await build(t, { env: { CLICK_RETENTION_DAYS: '30' } })
  const offer = await createOffer(app, { click_session: '30d' })
  const affiliate = await createAffiliate(app)
  const now = new Date()
  const old = new Date(now.getTime() - 75 * DAY_MS)
  const recent = new Date(now.getTime() - DAY_MS)
  const oldClick = await recordAt(app, old, offer.id, affiliate.id)
  const recentClick = await recordAt(app, recent, offer.id, affiliate.id)
  const converted = await advertiserPostback(app, { clickid: oldClick, action_id: 'before-retention' })
  t.equal(converted.statusCode, 200, 'a conversion on the old click while it is kept')
  const conversionId = converted.json().conversion_id as number
  const before = (await inject(app, { method: 'GET', url: `/v1/conversions/${conversionId}` })).json()
  const statsUrl = `/v1/stats?from=${new Date(now.getTime() - 80 * DAY_MS).toISOString().slice(0, 10)}&to=${now.toISOString().slice(0, 10)}&group_by=month`
  const reportedClicks = async () => ((await inject(app, { method: 'GET', url: statsUrl })).json().totals as { clicks: number }[]).map((row) => row.clicks)
  t.same(await reportedClicks(), [2], 'both clicks reported before retention')

  const report = await app.maintenance.runOnce(now)
  t.ok(report.partitionsDropped.includes(clickMonth(old).name), `the month of the old click is dropped (${report.partitionsDropped.join(', ')})`)
  t.notOk(report.partitionsDropped.includes(clickMonth(recent).name), 'the month of a recent click is kept')
  const left = (await existingClickMonths(app.db)).map((month) => month.name)
  t.ok(left.every((name) => name >= clickMonth(new Date(now.getTime() - 30 * DAY_MS)).name), 'no month older than the cutoff\'s is left')

  t.equal(await findClick(app.db, oldClick), undefined, 'the old click is gone')
  t.ok(await findClick(app.db, recentClick), 'the recent click is kept')
  t.same((await inject(app, { method: 'GET', url: `/v1/conversions/${conversionId}` })).json(), before, 'the conversion is unchanged')
  const late = await advertiserPostback(app, { clickid: oldClick, action_id: 'after-retention' })
  t.equal(late.statusCode, 404, 'a conversion for a click no longer kept: 404 like an unknown click')
  t.equal((await advertiserPostback(app, { clickid: recentClick, action_id: 'recent' })).statusCode, 200, 'a kept click still converts')

  const again = await app.maintenance.runOnce(now)
  t.same([again.partitionsDropped, again.partitionsMade], [[], []], 'a second run finds nothing to do')
  t.same(await leftoverTables(app), [], 'no detached month is left behind')
  t.same(await reportedClicks(), [2], 'the dropped click keeps counting in the statistics')
})

/** Tables named like clicks' months that are no longer partitions of clicks: what a crash mid-retention leaves. */
async function leftoverTables (app: FastifyInstance): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select relname as name from pg_class c
    where relkind = 'r' and relname like 'clicks%' and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid)`.execute(app.db)
  return rows.map((row) => row.name)
}

t.test('a month detached but not dropped (a crash between retention\'s two steps) is dropped by the next run', async (t) => {
  // Without the maintenance role nothing runs by itself: the statistics' fold has counted no click yet.
  const { app } = await build(t, { env: { CLICK_RETENTION_DAYS: '30', SERVICE_ROLES: 'http,dispatcher' } })
  const offer = await createOffer(app, { click_session: '30d' })
  const affiliate = await createAffiliate(app)
  const now = new Date()
  const old = new Date(now.getTime() - 75 * DAY_MS)
  await recordAt(app, old, offer.id, affiliate.id)
  const cutoff = new Date(now.getTime() - 30 * DAY_MS)
  t.same(await retireClickPartitionsBefore(app.db, cutoff), [], 'a month whose clicks the statistics have not counted stays')
  await foldClicksUntil(app.db, cutoff.getTime())
  // The first step alone, as a crash right after it leaves things.
  const retired = await retireClickPartitionsBefore(app.db, cutoff)
  t.ok(retired.includes(clickMonth(old).name), 'the old month is detached')
  t.same(await leftoverTables(app), [`clicks_retired_${clickMonth(old).name}`], 'and left as a retired table')
  t.notOk((await existingClickMonths(app.db)).some((month) => month.name === clickMonth(old).name), 'no longer a partition of clicks')
  await app.maintenance.runOnce(now)
  t.same(await leftoverTables(app), [], 'the next run drops it')
})

t.test('log retention: the advertiser-postback log and finished deliveries go in batches; pending deliveries stay', async (t) => {
  const { app } = await build(t, { env: { LOG_RETENTION_DAYS: '7' } })
  const scene = await firingScene(app)
  const postbackRow = await inject(app, { method: 'POST', url: `/v1/affiliates/${scene.affiliate.id}/postbacks`, payload: { url: 'http://127.0.0.1:9/never' } })
  const postbackId = postbackRow.json().id as number
  const now = new Date()
  const old = new Date(now.getTime() - 8 * DAY_MS)

  // More old log rows than one batch holds, then recent ones.
  const oldLogs = RETENTION_BATCH * 2 + 17
  await sql`insert into server_postbacks (received_at, method, params, result, http_status)
    select ${old}, 'GET', '{}'::jsonb, 'rejected', 404 from generate_series(1, ${oldLogs})`.execute(app.db)
  await sql`insert into server_postbacks (received_at, method, params, result, http_status)
    select ${now}, 'GET', '{}'::jsonb, 'rejected', 404 from generate_series(1, 5)`.execute(app.db)

  const later = new Date(now.getTime() + 365 * DAY_MS)
  const oldDelivered = await insertDelivery(app, scene, { postbackId, url: 'http://127.0.0.1:9/a', nextAttemptAt: later })
  const oldFailed = await insertDelivery(app, scene, { postbackId, url: 'http://127.0.0.1:9/b', nextAttemptAt: later })
  const oldPending = await insertDelivery(app, scene, { postbackId, url: 'http://127.0.0.1:9/c', nextAttemptAt: later })
  const recentDelivered = await insertDelivery(app, scene, { postbackId, url: 'http://127.0.0.1:9/d', nextAttemptAt: later })
  await sql`update postback_deliveries set state = case when id = ${oldFailed} then 'failed' else 'delivered' end, next_attempt_at = null
    where id in (${oldDelivered}, ${oldFailed}, ${recentDelivered})`.execute(app.db)
  await sql`update postback_deliveries set created_at = ${old} where id in (${oldDelivered}, ${oldFailed}, ${oldPending})`.execute(app.db)
  await sql`insert into postback_attempts (delivery_id, n, at, http_code, duration_ms) values
    (${oldDelivered}, 1, ${old}, 200, 5), (${oldFailed}, 1, ${old}, 500, 5), (${recentDelivered}, 1, ${now}, 200, 5)`.execute(app.db)
  const conversionsBefore = await app.db.selectFrom('conversions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()

  const report = await app.maintenance.runOnce(now)
  t.equal(report.serverPostbacksDropped, oldLogs, 'every old log row, over several batches')
  t.equal(report.deliveriesDropped, 2, 'the two old finished deliveries')
  const logs = await app.db.selectFrom('server_postbacks').select(['received_at']).execute()
  t.equal(logs.length, 5, 'the recent log rows stay')
  const deliveries = (await app.db.selectFrom('postback_deliveries').select(['id']).orderBy('id').execute()).map((row) => Number(row.id))
  t.same(deliveries, [oldPending, recentDelivered], 'an old pending delivery is never dropped; a recent finished one stays')
  const attempts = (await app.db.selectFrom('postback_attempts').select(['delivery_id']).execute()).map((row) => Number(row.delivery_id))
  t.same(attempts, [recentDelivered], 'the attempts of dropped deliveries went with them')
  const conversionsAfter = await app.db.selectFrom('conversions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()
  t.equal(Number(conversionsAfter.n), Number(conversionsBefore.n), 'conversions are never touched')
})

t.test('CLICK_RETENTION_DAYS is at least every offer\'s click_session: refused at an offer write and at start', async (t) => {
  const first = await build(t)
  const offer = await createOffer(first.app)
  t.equal((offer as unknown as { click_session: string }).click_session, '365d', 'the default click session')
  await first.app.close()
  await t.rejects(build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir, env: { CLICK_RETENTION_DAYS: '30' } }), {
    name: 'ConfigError',
    message: `CLICK_RETENTION_DAYS: 30 is shorter than the click_session of offer ${offer.id} (365d): its conversions would find their clicks dropped; keep clicks longer or shorten the offers' click_session`,
  }, 'a start that would drop clicks still inside an offer\'s click session is refused')

  const { app } = await build(t, { env: { CLICK_RETENTION_DAYS: '30' } })
  const longer = await inject(app, { method: 'POST', url: '/v1/offers', payload: { advertiser_id: (await createAdvertiser(app)).id, title: 'Long', url: 'https://advertiser.example/?c={clickid}', click_session: '31d' } })
  t.equal(longer.statusCode, 422, 'an offer whose click_session outlasts the clicks: 422')
  t.equal(longer.json().errors?.[0]?.path, '/click_session', 'naming the field')
  const fits = await createOffer(app, { click_session: '30d' })
  const patched = await inject(app, {
    method: 'PATCH', url: `/v1/offers/${fits.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ click_session: '721h' }),
  })
  t.equal(patched.statusCode, 422, 'a patch to 721h (just over 30 days) as well')
})
