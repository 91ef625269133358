import t from 'tap'
import { findClick } from '../../src/clicks/repository.js'
import { build, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { createAffiliate, createOffer } from '../helpers/fixtures.js'
import { click, clickidIn, OFFER_URL } from '../helpers/links.js'

const TRAFFICBACK = 'https://tb.example/back'

function patch(app: Parameters<typeof inject>[0], url: string, body: Record<string, unknown>) {
  return inject(app, { method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body) })
}

t.test('cache: a paused offer, a deactivated affiliate and a new URL reach the click path within a second', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  const affiliate = await createAffiliate(app)
  const url = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  t.match((await click(app, url)).headers.location, /^https:\/\/adv\.example\/land\?c=/, 'cached now')

  t.equal((await patch(app, `/v1/offers/${offer.id}`, { status: 'paused' })).statusCode, 200)
  await eventually(async () => (await click(app, url)).headers.location === TRAFFICBACK, 1000, 'the paused offer to send trafficback')

  await patch(app, `/v1/offers/${offer.id}`, { status: 'active', url: 'https://new.example/?c={clickid}' })
  await eventually(async () => /^https:\/\/new\.example\/\?c=/.test(String((await click(app, url)).headers.location)), 1000, 'the new URL')

  t.equal((await patch(app, `/v1/affiliates/${affiliate.id}`, { status: 'inactive' })).statusCode, 200)
  await eventually(async () => (await click(app, url)).headers.location === TRAFFICBACK, 1000, 'the inactive affiliate to send trafficback')

  await patch(app, `/v1/affiliates/${affiliate.id}`, { status: 'active' })
  await eventually(async () => (await click(app, url)).statusCode === 302 && /new\.example/.test(String((await click(app, url)).headers.location)), 1000, 'active again')

  // An id first clicked before its offer existed is not remembered as unknown.
  const next = offer.id + 1
  t.equal((await click(app, `/click?pid=${affiliate.id}&offer_id=${next}`)).statusCode, 404)
  const created = await createOffer(app, { url: OFFER_URL })
  t.equal(created.id, next)
  await eventually(async () => (await click(app, `/click?pid=${affiliate.id}&offer_id=${next}`)).statusCode === 302, 1000, 'the new offer')
})

t.test('cache: two instances on one database see each other\'s changes within a second', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const first = await build(t)
  const second = await build(t, { databaseUrl: first.databaseUrl })
  const offer = await createOffer(first.app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  const affiliate = await createAffiliate(first.app)
  const url = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  const viaSecond = await click(second.app, url)
  t.equal(viaSecond.statusCode, 302)

  // A click taken by one instance is found by the other (a conversion may arrive at either).
  const clickid = clickidIn(viaSecond.headers.location)
  await eventually(() => findClick(first.app.db, clickid), 1000, 'the click, from the other instance')
  t.equal((await inject(first.app, { method: 'GET', url: `/v1/clicks/${clickid}` })).statusCode, 200)

  await patch(first.app, `/v1/offers/${offer.id}`, { status: 'paused' })
  await eventually(async () => (await click(second.app, url)).headers.location === TRAFFICBACK, 1000, 'the pause, on the other instance')
  await patch(first.app, `/v1/offers/${offer.id}`, { status: 'active' })
  await eventually(async () => (await click(second.app, url)).headers.location !== TRAFFICBACK, 1000, 'the resume, on the other instance')
  await patch(second.app, `/v1/affiliates/${affiliate.id}`, { status: 'banned' })
  await eventually(async () => (await click(first.app, url)).headers.location === TRAFFICBACK, 1000, 'the ban, the other way round')
})
