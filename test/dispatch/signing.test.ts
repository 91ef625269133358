import t from 'tap'
import { Webhook } from 'standardwebhooks'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, createPostback, listDeliveries, settled } from '../helpers/fixtures.js'
import { firingScene, type FiringScene } from '../helpers/scenes.js'
import { seedConversion } from '../helpers/seeds.js'
import { startSink, type SinkRequest } from '../helpers/sink.js'

// Signatures checked by the reference Standard Webhooks library (`standardwebhooks` on npm), never by the
// service's own code: a receiver holding the secret can verify GET and POST postbacks alike.

async function issueSecret (app: FastifyInstance, affiliateId: number): Promise<string> {
  const res = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliateId}/signing-secret` })
  if (res.statusCode !== 200) throw new Error(`signing secret: ${res.statusCode} ${res.body}`)
  return res.json().secret as string
}

/** The headers as the library wants them (single strings). */
function webhookHeaders (request: SinkRequest): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = request.headers[name]
    if (typeof value === 'string') out[name] = value
  }
  return out
}

/** What a GET signs is the request target as received; a POST, its body. */
function verifies (secret: string, request: SinkRequest): boolean {
  try {
    new Webhook(secret).verify(request.method === 'GET' ? request.url : request.body, webhookHeaders(request), { jsonParse: false })
    return true
  } catch {
    return false
  }
}

async function deliverOne (app: FastifyInstance, scene: FiringScene, sinkPath: string, sink: { to(path: string): SinkRequest[] }) {
  const before = sink.to(sinkPath).length
  const conversionId = await seedConversion(app, scene)
  const [delivery] = await eventually(async () => {
    const rows = await listDeliveries(app, `?conversion_id=${conversionId}`)
    return rows.length > 0 ? rows : undefined
  }, 5000, 'the delivery row')
  const done = await settled(app, delivery!.id)
  const request = await eventually(() => sink.to(sinkPath)[before], 5000, 'the request at the sink')
  return { delivery: done, request }
}

t.test('GET and POST postbacks carry Standard Webhooks headers the reference library verifies, on every attempt', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '100ms' } })
  const sink = await startSink(t)
  sink.on('/get', (call) => (call === 1 ? { status: 500 } : { status: 200 }))
  const scene = await firingScene(app)
  const secret = await issueSecret(app, scene.affiliate.id)
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 32, '32 random bytes')
  // Characters that encodings disagree on: the signature covers the target exactly as sent.
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/get?c={conversion_id}&s={sum}&o={offer_name}&x=a%2Fb~'!` })
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/post?c={conversion_id}&cur={currency}&n={offer_name}`, method: 'POST' })

  const conversionId = await seedConversion(app, scene)
  const deliveries = await eventually(async () => {
    const rows = await listDeliveries(app, `?conversion_id=${conversionId}`)
    return rows.length === 2 ? rows : undefined
  }, 5000, 'both deliveries')
  for (const d of deliveries) await settled(app, d.id)
  const gets = sink.to('/get')
  const [post] = sink.to('/post')
  t.equal(gets.length, 2, 'the GET was retried once')
  for (const request of [...gets, post!]) {
    const id = request.headers['x-postback-delivery-id']
    t.equal(request.headers['webhook-id'], id, 'webhook-id is the delivery id')
    t.match(request.headers['webhook-timestamp'], /^\d{10}$/)
    t.ok(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000) < 60, 'unix seconds of the attempt')
    t.match(request.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/, 'one signature')
    t.ok(verifies(secret, request), `${request.method} ${request.url} verifies`)
  }
  t.ok(gets[0]!.url.includes('x=a%2Fb~'), 'the GET target went out unnormalised')
  t.ok(post!.body.length > 0 && post!.body.includes('cur=USD'), 'the POST signs its form body')
  t.notOk(verifies(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, post!), 'another secret does not verify')
  const tampered = { ...post!, body: post!.body.replace('cur=USD', 'cur=EUR') }
  t.notOk(verifies(secret, tampered), 'a changed body does not verify')
  const forged = { ...gets[1]!, url: gets[1]!.url.replace('&s=', '&s=1') }
  t.notOk(verifies(secret, forged), 'a changed GET query does not verify')
})

t.test('rotation: both secrets sign for the overlap, at most two, then only the new; DELETE turns signing off', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/pb?c={conversion_id}` })

  const first = await issueSecret(app, scene.affiliate.id)
  const one = (await deliverOne(app, scene, '/pb', sink)).request
  t.ok(verifies(first, one))

  const second = await issueSecret(app, scene.affiliate.id)
  t.not(second, first)
  const two = (await deliverOne(app, scene, '/pb', sink)).request
  const signatures = String(two.headers['webhook-signature']).split(' ')
  t.equal(signatures.length, 2, 'two space-separated signatures while the old secret overlaps')
  t.ok(verifies(second, two), 'a receiver already on the new secret verifies')
  t.ok(verifies(first, two), 'a receiver still on the old secret verifies')
  const expires = await app.db.selectFrom('affiliate_signing_secrets').select(['expires_at']).where('affiliate_id', '=', scene.affiliate.id)
    .where('expires_at', 'is not', null).executeTakeFirstOrThrow()
  const overlap = expires.expires_at!.getTime() - Date.now()
  t.ok(overlap > 23.9 * 3_600_000 && overlap <= 24 * 3_600_000, 'the replaced secret keeps signing for 24 h')

  const third = await issueSecret(app, scene.affiliate.id)
  const three = (await deliverOne(app, scene, '/pb', sink)).request
  t.equal(String(three.headers['webhook-signature']).split(' ').length, 2, 'never more than two')
  t.ok(verifies(third, three))
  t.ok(verifies(second, three))
  t.notOk(verifies(first, three), 'the secret replaced before the last one stopped signing')

  // The overlap ends: the replaced secret stops signing (its expiry moved to the past stands in for 24 h passing).
  await app.db.updateTable('affiliate_signing_secrets').set({ expires_at: new Date(Date.now() - 1000) })
    .where('affiliate_id', '=', scene.affiliate.id).where('expires_at', 'is not', null).execute()
  const four = (await deliverOne(app, scene, '/pb', sink)).request
  t.equal(String(four.headers['webhook-signature']).split(' ').length, 1)
  t.ok(verifies(third, four))
  t.notOk(verifies(second, four))

  const off = await inject(app, { method: 'DELETE', url: `/v1/affiliates/${scene.affiliate.id}/signing-secret` })
  t.equal(off.statusCode, 204)
  const five = (await deliverOne(app, scene, '/pb', sink)).request
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) t.equal(five.headers[name], undefined, `no ${name} after DELETE`)
  t.ok(five.headers['x-postback-delivery-id'], 'the delivery id header stays')
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${scene.affiliate.id}/signing-secret` })).statusCode, 204, 'idempotent')
})

t.test('signing is per affiliate; a manual resend and a test fire sign too', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const signed = await firingScene(app)
  const plain = { offer: signed.offer, affiliate: (await firingScene(app)).affiliate }
  await createPostback(app, { affiliate_id: signed.affiliate.id, url: `${sink.origin}/signed?c={conversion_id}` })
  const plainPostback = await createPostback(app, { affiliate_id: plain.affiliate.id, url: `${sink.origin}/plain?c={conversion_id}` })
  const secret = await issueSecret(app, signed.affiliate.id)

  const unsigned = (await deliverOne(app, plain, '/plain', sink)).request
  t.equal(unsigned.headers['webhook-signature'], undefined, 'an affiliate without a secret gets no signature')
  t.equal(unsigned.headers['webhook-id'], undefined)

  const { delivery, request } = await deliverOne(app, signed, '/signed', sink)
  t.ok(verifies(secret, request))
  const resent = await inject(app, { method: 'POST', url: `/v1/postback-deliveries/${delivery.id}/retry` })
  t.equal(resent.statusCode, 200)
  const again = sink.to('/signed')[1]!
  t.equal(again.headers['webhook-id'], String(delivery.id))
  t.ok(verifies(secret, again), 'the resend is signed, with its own timestamp')

  // Panel: the affiliate issues its own secret; the test fire of its postback is signed with it.
  const panelSecret = await app.inject({ method: 'POST', url: '/v1/affiliate/signing-secret', headers: asAffiliate(plain.affiliate) })
  t.equal(panelSecret.statusCode, 200)
  const fired = await inject(app, { method: 'POST', url: `/v1/postbacks/${plainPostback.id}/test`, payload: {} })
  t.equal(fired.statusCode, 200, fired.body)
  const test = sink.to('/plain').at(-1)!
  t.match(test.headers['webhook-id'], /^test_[0-9a-f]{24}$/)
  t.ok(verifies(panelSecret.json().secret, test), 'a test fire verifies with the panel-issued secret')
  t.notOk(verifies(secret, test), 'not with another affiliate\'s secret')
})
