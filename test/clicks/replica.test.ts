import pg from 'pg'
import t from 'tap'
import { findClick } from '../../src/clicks/repository.js'
import { build, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { clickidIn, createAffiliate, createLink, createOffer, OFFER_URL, requestPublicPath } from '../helpers/fixtures.js'

const TRAFFICBACK = 'https://tb.example/back'

function patch (app: Parameters<typeof inject>[0], url: string, body: Record<string, unknown>) {
  return inject(app, { method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body) })
}

t.test('replica: a paused offer, a deactivated affiliate and a new URL reach the click path within a second', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  const affiliate = await createAffiliate(app)
  const url = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  t.match((await requestPublicPath(app, url)).headers.location, /^https:\/\/adv\.example\/land\?c=/, 'known now')

  t.equal((await patch(app, `/v1/offers/${offer.id}`, { status: 'paused' })).statusCode, 200)
  await eventually(async () => (await requestPublicPath(app, url)).headers.location === TRAFFICBACK, 1000, 'the paused offer to send trafficback')

  await patch(app, `/v1/offers/${offer.id}`, { status: 'active', url: 'https://new.example/?c={clickid}' })
  await eventually(async () => /^https:\/\/new\.example\/\?c=/.test(String((await requestPublicPath(app, url)).headers.location)), 1000, 'the new URL')

  t.equal((await patch(app, `/v1/affiliates/${affiliate.id}`, { status: 'inactive' })).statusCode, 200)
  await eventually(async () => (await requestPublicPath(app, url)).headers.location === TRAFFICBACK, 1000, 'the inactive affiliate to send trafficback')

  await patch(app, `/v1/affiliates/${affiliate.id}`, { status: 'active' })
  await eventually(async () => (await requestPublicPath(app, url)).statusCode === 302 && /new\.example/.test(String((await requestPublicPath(app, url)).headers.location)), 1000, 'active again')

  // An id first clicked before its offer existed is not remembered as unknown.
  const next = offer.id + 1
  t.equal((await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${next}`)).statusCode, 404)
  const created = await createOffer(app, { url: OFFER_URL })
  t.equal(created.id, next)
  await eventually(async () => (await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${next}`)).statusCode === 302, 1000, 'the new offer')
})

t.test('replica: two instances on one database see each other\'s changes within a second', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const first = await build(t)
  const second = await build(t, { databaseUrl: first.databaseUrl })
  const offer = await createOffer(first.app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  const affiliate = await createAffiliate(first.app)
  const url = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  const viaSecond = await requestPublicPath(second.app, url)
  t.equal(viaSecond.statusCode, 302)

  // A click taken by one instance is found by the other (a conversion may arrive at either).
  const clickid = clickidIn(viaSecond.headers.location)
  await eventually(() => findClick(first.app.db, clickid), 1000, 'the click, from the other instance')
  t.equal((await inject(first.app, { method: 'GET', url: `/v1/clicks/${clickid}` })).statusCode, 200)

  await patch(first.app, `/v1/offers/${offer.id}`, { status: 'paused' })
  await eventually(async () => (await requestPublicPath(second.app, url)).headers.location === TRAFFICBACK, 1000, 'the pause, on the other instance')
  await patch(first.app, `/v1/offers/${offer.id}`, { status: 'active' })
  await eventually(async () => (await requestPublicPath(second.app, url)).headers.location !== TRAFFICBACK, 1000, 'the resume, on the other instance')
  await patch(second.app, `/v1/affiliates/${affiliate.id}`, { status: 'banned' })
  await eventually(async () => (await requestPublicPath(first.app, url)).headers.location === TRAFFICBACK, 1000, 'the ban, the other way round')
})

t.test('replica: a deleted offer or affiliate stops redirecting within a second', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const other = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const kept = await createAffiliate(app)
  // HEAD answers like GET but records nothing: a click would forbid the delete.
  const head = (offerId: number, pid: number) => requestPublicPath(app, `/click?pid=${pid}&offer_id=${offerId}`, { method: 'HEAD' })
  await eventually(async () => (await head(offer.id, affiliate.id)).statusCode === 302, 1000, 'the new offer and affiliate')

  t.equal((await inject(app, { method: 'DELETE', url: `/v1/offers/${offer.id}` })).statusCode, 204)
  await eventually(async () => (await head(offer.id, kept.id)).statusCode === 404, 1000, 'the deleted offer to be unknown')
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${affiliate.id}` })).statusCode, 204)
  await eventually(async () => (await head(other.id, affiliate.id)).statusCode === 404, 1000, 'the deleted affiliate to be unknown')
  t.equal((await head(other.id, kept.id)).statusCode, 302, 'the others still redirect')
})

t.test('replica: a change that commits after a later one is not missed', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const { app, databaseUrl } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  const affiliate = await createAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id })
  const code = 'LateCommit1'

  // The first transaction to write is the last to commit; the replica reads several times in between.
  const open = new pg.Client({ connectionString: databaseUrl })
  await open.connect()
  t.teardown(() => open.end())
  await open.query('begin')
  await open.query('update tracking_links set short_code = $1 where id = $2', [code, link.id])
  await app.db.updateTable('offers').set({ status: 'paused' }).where('id', '=', offer.id).execute()
  await eventually(() => app.clickReplica.offers.get(offer.id)?.status === 'paused', 1000, 'the later change')
  await new Promise((resolve) => setTimeout(resolve, 1200)) // two more refreshes pass while the first is open
  t.notOk(app.clickReplica.shortLinks.has(code), 'not committed yet: unknown')
  await open.query('commit')
  await eventually(() => app.clickReplica.shortLinks.has(code), 1000, 'the change that committed last')
  t.equal((await requestPublicPath(app, `/${code}`)).headers.location, TRAFFICBACK, 'the link, on the paused offer')
})
