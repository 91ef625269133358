import pg from 'pg'
import t, { type Test } from 'tap'
import { build, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { asAffiliate, collectIds, createdPostback, mergePatch, postbackPlaces } from '../helpers/fixtures.js'
import { twoOffersScene } from '../helpers/scenes.js'
import { deliveryState, insertDelivery } from '../helpers/seeds.js'

const url = 'https://aff.example/pb?c={sub1}'

t.test('PATCH is a JSON Merge Patch; affiliate_id never changes', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const postback = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url, goal: 'sale', status: 'approved' }))

  const patched = await mergePatch(app, `/v1/postbacks/${postback.id}`, { method: 'POST', integration_method: 'default' })
  t.equal(patched.statusCode, 200)
  const body = patched.json()
  t.match(body, { id: postback.id, affiliate_id: a.id, offer_id: offer.id, scope: 'local', url, method: 'POST', status: 'approved', goal: 'Sale', integration_method: 'default' })
  t.equal(body.created_at, postback.created_at)
  t.ok(Date.parse(body.updated_at) >= Date.parse(postback.updated_at))

  t.equal((await mergePatch(app, `/v1/postbacks/${postback.id}`, { goal: 'LEAD' })).json().goal, 'lead', 'offer spelling')
  t.equal((await mergePatch(app, `/v1/postbacks/${postback.id}`, { goal: null })).json().goal, null, 'null clears')
  t.same((await mergePatch(app, `/v1/postbacks/${postback.id}`, {})).json(), (await inject(app, { method: 'GET', url: `/v1/postbacks/${postback.id}` })).json(), 'empty patch')

  const moved = await mergePatch(app, `/v1/postbacks/${postback.id}`, { affiliate_id: 999 })
  t.equal(moved.statusCode, 400)
  t.equal(moved.json().errors[0].path, '/affiliate_id')
  t.match(moved.json().errors[0].message, /not an allowed field/)
  t.equal((await mergePatch(app, `/v1/postbacks/${postback.id}`, { scope: 'global' })).json().errors[0].path, '/scope')
  t.equal((await mergePatch(app, `/v1/postbacks/${postback.id}`, { url: null })).statusCode, 400)
  t.equal((await mergePatch(app, `/v1/postbacks/${postback.id}`, { url: 'not a url' })).json().errors[0].path, '/url')
  const unknownOffer = await mergePatch(app, `/v1/postbacks/${postback.id}`, { offer_id: 999999 })
  t.equal(unknownOffer.statusCode, 422)
  t.equal(unknownOffer.json().errors[0].path, '/offer_id')
  t.equal((await inject(app, { method: 'GET', url: `/v1/postbacks/${postback.id}` })).json().affiliate_id, a.id)
})

t.test('PATCH local ↔ global judges goal and force_global against the new state', async (t) => {
  const { app } = await build(t)
  const { offer, other, a } = await twoOffersScene(app)
  const postback = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url, offer_id: offer.id, goal: 'Sale' }))
  const at = `/v1/postbacks/${postback.id}`

  const keepsGoal = await mergePatch(app, at, { offer_id: null })
  t.equal(keepsGoal.statusCode, 422, 'global with a goal')
  t.equal(keepsGoal.json().errors[0].path, '/goal')
  const toGlobal = await mergePatch(app, at, { offer_id: null, goal: null, force_global: true })
  t.equal(toGlobal.statusCode, 200)
  t.match(toGlobal.json(), { scope: 'global', offer_id: null, goal: null, force_global: true })

  const keepsForce = await mergePatch(app, at, { offer_id: offer.id })
  t.equal(keepsForce.statusCode, 422, 'local with force_global')
  t.equal(keepsForce.json().errors[0].path, '/force_global')
  t.equal((await mergePatch(app, at, { goal: 'Sale' })).json().errors[0].path, '/goal', 'goal on a global')
  const toLocal = await mergePatch(app, at, { offer_id: offer.id, force_global: false, goal: 'sale' })
  t.equal(toLocal.statusCode, 200)
  t.match(toLocal.json(), { scope: 'local', offer_id: offer.id, goal: 'Sale', force_global: false })

  // Another offer without that goal: the kept goal is judged against it.
  const otherOffer = await mergePatch(app, at, { offer_id: other.id })
  t.equal(otherOffer.statusCode, 422)
  t.equal(otherOffer.json().errors[0].path, '/goal')
  t.match((await mergePatch(app, at, { offer_id: other.id, goal: '1' })).json(), { offer_id: other.id, goal: '1' })

  // The panel follows the same rules on its own postbacks.
  const own = createdPostback(await postbackPlaces.panel(app, a, { url }))
  const panelPatch = (body: unknown) => mergePatch(app, `/v1/affiliate/postbacks/${own.id}`, body, asAffiliate(a))
  t.equal((await panelPatch({ goal: 'Sale' })).json().errors[0].path, '/goal')
  t.match((await panelPatch({ offer_id: offer.id, goal: 'SALE' })).json(), { scope: 'local', goal: 'Sale' })
  t.equal((await panelPatch({ force_global: true })).json().errors[0].path, '/force_global')
  t.equal((await panelPatch({ affiliate_id: a.id })).statusCode, 400)
  t.match((await panelPatch({ offer_id: null, goal: null })).json(), { scope: 'global', goal: null })
})

t.test('DELETE: one, all of an affiliate\'s, all of the caller\'s', async (t) => {
  const { app } = await build(t)
  const { offer, other, a, b } = await twoOffersScene(app)
  const aLocal = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url }))
  const aGlobal = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url }))
  const aOther = createdPostback(await postbackPlaces.panelOffer(app, a, other.id, { url }))
  const bPostbacks = [
    createdPostback(await postbackPlaces.adminOffer(app, offer.id, b.id, { url })),
    createdPostback(await postbackPlaces.panel(app, b, { url })),
    createdPostback(await postbackPlaces.panel(app, b, { url, offer_id: other.id })),
  ]

  t.equal((await inject(app, { method: 'DELETE', url: `/v1/postbacks/${aLocal.id}` })).statusCode, 204)
  t.equal((await inject(app, { method: 'GET', url: `/v1/postbacks/${aLocal.id}` })).statusCode, 404)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/postbacks/${aLocal.id}` })).statusCode, 404)

  const bulk = await inject(app, { method: 'DELETE', url: `/v1/affiliates/${a.id}/postbacks` })
  t.equal(bulk.statusCode, 200)
  t.same(bulk.json(), { deleted: 2 })
  t.same(await collectIds(app, `/v1/affiliates/${a.id}/postbacks`), [])
  t.same((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${a.id}/postbacks` })).json(), { deleted: 0 })
  t.equal((await inject(app, { method: 'GET', url: `/v1/postbacks/${aGlobal.id}` })).statusCode, 404)
  t.equal((await inject(app, { method: 'GET', url: `/v1/postbacks/${aOther.id}` })).statusCode, 404)
  t.same(await collectIds(app, `/v1/affiliates/${b.id}/postbacks`), bPostbacks.map((p) => p.id).reverse(), 'B untouched')

  const panelOne = await app.inject({ method: 'DELETE', url: `/v1/affiliate/postbacks/${bPostbacks[0]?.id}`, headers: asAffiliate(b) })
  t.equal(panelOne.statusCode, 204)
  const panelAll = await app.inject({ method: 'DELETE', url: '/v1/affiliate/postbacks', headers: asAffiliate(b) })
  t.equal(panelAll.statusCode, 200)
  t.same(panelAll.json(), { deleted: 2 })
  t.same(await collectIds(app, '/v1/postbacks'), [])
})

t.test('deleting a postback cancels its pending deliveries; delivered ones and the log stay', async (t) => {
  const { app } = await build(t)
  const { offer, a, b } = await twoOffersScene(app)
  /** A postback with one pending (due in an hour, so never sent meanwhile) and one delivered delivery. */
  async function withDeliveries (postback: { id: number; affiliate_id: number }) {
    const owner = { offer, affiliate: { id: postback.affiliate_id } }
    const raw = { postbackId: postback.id, url: 'https://aff.example/pb?x=1' }
    return {
      pending: await insertDelivery(app, owner, { ...raw, nextAttemptAt: new Date(Date.now() + 3_600_000) }),
      delivered: await insertDelivery(app, owner, { ...raw, state: 'delivered' }),
    }
  }
  async function expectCancelled (t: Test, d: { pending: number; delivered: number }) {
    t.match(await deliveryState(app, d.pending), { state: 'cancelled', next_attempt_at: null }, 'pending → cancelled')
    t.match(await deliveryState(app, d.delivered), { state: 'delivered' }, 'delivered stays')
  }

  const kept = createdPostback(await postbackPlaces.adminOffer(app, offer.id, b.id, { url }))
  const keptDeliveries = await withDeliveries(kept)

  const single = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url }))
  const singleDeliveries = await withDeliveries(single)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/postbacks/${single.id}` })).statusCode, 204)
  await expectCancelled(t, singleDeliveries)

  const bulk = [createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url })), createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url }))]
  const bulkDeliveries = [await withDeliveries(bulk[0]!), await withDeliveries(bulk[1]!)]
  t.same((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${a.id}/postbacks` })).json(), { deleted: 2 })
  for (const d of bulkDeliveries) await expectCancelled(t, d)

  const panelSingle = createdPostback(await postbackPlaces.panel(app, a, { url }))
  const panelSingleDeliveries = await withDeliveries(panelSingle)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/affiliate/postbacks/${panelSingle.id}`, headers: asAffiliate(a) })).statusCode, 204)
  await expectCancelled(t, panelSingleDeliveries)

  const panelBulk = createdPostback(await postbackPlaces.panelOffer(app, a, offer.id, { url }))
  const panelBulkDeliveries = await withDeliveries(panelBulk)
  t.same((await app.inject({ method: 'DELETE', url: '/v1/affiliate/postbacks', headers: asAffiliate(a) })).json(), { deleted: 1 })
  await expectCancelled(t, panelBulkDeliveries)

  // Another affiliate's deliveries were never touched, and the cancelled rows are still in the log.
  t.match(await deliveryState(app, keptDeliveries.pending), { state: 'pending' })
  t.match(await deliveryState(app, keptDeliveries.delivered), { state: 'delivered' })
  const log = await inject(app, { method: 'GET', url: `/v1/postback-deliveries?postback_id=${single.id}` })
  t.equal(log.statusCode, 200)
  t.same(log.json().data.map((d: { state: string }) => d.state).sort(), ['cancelled', 'delivered'])
})

t.test('affiliate isolation both ways: another\'s postback is a 404, never touched', async (t) => {
  const { app } = await build(t)
  const { offer, a, b } = await twoOffersScene(app)
  const aPostback = createdPostback(await postbackPlaces.panelOffer(app, a, offer.id, { url }))
  const bPostback = createdPostback(await postbackPlaces.panelOffer(app, b, offer.id, { url }))

  for (const [caller, others] of [[a, bPostback], [b, aPostback]] as const) {
    const headers = asAffiliate(caller)
    const at = `/v1/affiliate/postbacks/${others.id}`
    t.equal((await app.inject({ method: 'GET', url: at, headers })).statusCode, 404)
    const patch = await mergePatch(app, at, { url: 'https://evil.example/pb' }, headers)
    t.equal(patch.statusCode, 404)
    t.equal(patch.json().detail, 'Postback not found', 'same answer as an unknown id')
    t.equal((await app.inject({ method: 'DELETE', url: at, headers })).statusCode, 404)
    t.same(await collectIds(app, '/v1/affiliate/postbacks', headers), [others === bPostback ? aPostback.id : bPostback.id])
    t.same(await collectIds(app, `/v1/affiliate/offers/${offer.id}/postbacks`, headers), [others === bPostback ? aPostback.id : bPostback.id])
    t.same(await collectIds(app, `/v1/affiliate/postbacks?offer_id=${offer.id}`, headers), [others === bPostback ? aPostback.id : bPostback.id])
  }
  // Untouched by the attempts above.
  t.same((await inject(app, { method: 'GET', url: `/v1/postbacks/${bPostback.id}` })).json(), bPostback)
  t.same((await inject(app, { method: 'GET', url: `/v1/postbacks/${aPostback.id}` })).json(), aPostback)

  // A's "remove all" removes only A's.
  t.same((await app.inject({ method: 'DELETE', url: '/v1/affiliate/postbacks', headers: asAffiliate(a) })).json(), { deleted: 1 })
  t.same(await collectIds(app, '/v1/postbacks'), [bPostback.id])
  t.same(await collectIds(app, `/v1/postbacks?affiliate_id=${a.id}`), [])
  t.same(await collectIds(app, `/v1/postbacks?affiliate_id=${b.id}`), [bPostback.id])
})

t.test('an offer\'s goal used by a postback cannot be dropped; the offer cannot be deleted under it', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url, goal: 'lead' }))
  const drop = await inject(app, {
    method: 'PATCH', url: `/v1/offers/${offer.id}`, payload: { goals: [{ value: 'Sale', type: 'fixed', revenue: 10, payout: 5 }] },
  })
  t.equal(drop.statusCode, 409)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/offers/${offer.id}` })).statusCode, 409)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${a.id}` })).statusCode, 409)
})

t.test('a delete that deadlocks with the dispatcher recording an attempt runs again: 204, the delivery cancelled', { skip: TEST_ENGINE === 'pglite' && 'one connection: no concurrent transactions' }, async (t) => {
  const { app, databaseUrl } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const postback = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url }))
  const delivery = await insertDelivery(app, { offer, affiliate: a }, { postbackId: postback.id, url: 'https://aff.example/pb', nextAttemptAt: new Date(Date.now() + 3_600_000) })

  // What the dispatcher's recording statement does, by hand and in its order: the delivery row, then its postback's health.
  const recorder = new pg.Client({ connectionString: databaseUrl })
  await recorder.connect()
  t.teardown(() => recorder.end())
  await recorder.query('begin')
  await recorder.query('update postback_deliveries set updated_at = now() where id = $1', [delivery])
  const deleting = inject(app, { method: 'DELETE', url: `/v1/postbacks/${postback.id}` })
  await eventually(async () => {
    const waiting = await recorder.query('select 1 from pg_stat_activity where wait_event_type = \'Lock\' and datname = current_database() and pid <> pg_backend_pid()')
    return waiting.rowCount === 1
  }, 10_000, 'the delete to wait for the delivery row')
  // The delete waited first, so its deadlock check runs first and aborts it; the recorder then goes on.
  await recorder.query('update postbacks set consecutive_failures = consecutive_failures + 1 where id = $1', [postback.id])
  await recorder.query('commit')

  const res = await deleting
  t.equal(res.statusCode, 204, res.body)
  t.match(await deliveryState(app, delivery), { state: 'cancelled', next_attempt_at: null })
  t.equal((await inject(app, { method: 'GET', url: `/v1/postbacks/${postback.id}` })).statusCode, 404)
})
