import net from 'node:net'
import { hostname } from 'node:os'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { convert, getDelivery, listDeliveries, settled } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { LOOP_GUARD_HEADER } from '../../src/domain/self-feed.js'

/** The app on a real listener on every IPv4 address, as a service started with HOST=0.0.0.0 is. */
async function listening (app: FastifyInstance): Promise<number> {
  await app.listen({ host: '0.0.0.0', port: 0 })
  const address = app.server.address() as net.AddressInfo
  return address.port
}

async function conversionCount (app: FastifyInstance): Promise<number> {
  const row = await app.db.selectFrom('conversions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('a postback URL that reaches this service under any name is refused at save (422)', async (t) => {
  const { app } = await build(t)
  const port = await listening(app)
  const { offer, affiliate } = await firingScene(app)
  const aliases = ['localhost', '[::1]', '[::ffff:127.0.0.1]', '0.0.0.0', '127.0.0.2', hostname()]
  for (const host of aliases) {
    const url = `http://${host}:${port}/postback?clickid={clickid}&action_id=loop-{rand}&status=2`
    const res = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/postbacks`, payload: { url, offer_id: offer.id } })
    t.equal(res.statusCode, 422, `${host}:${port} refused`)
    t.match(res.json(), { errors: [{ path: '/url', message: /this service itself/ }] }, `${host}: names url`)
  }
  const created = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/postbacks`, payload: { url: 'http://pb.example/x' } })
  const patched = await inject(app, { method: 'PATCH', url: `/v1/postbacks/${created.json().id as number}`, payload: { url: `http://localhost:${port}/p` } })
  t.equal(patched.statusCode, 422, 'also when a PATCH points it here')
  const otherPort = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/postbacks`, payload: { url: `http://localhost:${port + 1}/pb` } })
  t.equal(otherPort.statusCode, 201, 'another port on this host is another service: accepted')
})

t.test('at send: a delivery that would reach this service is refused on the address connected to, and never retried', async (t) => {
  const { app } = await build(t)
  const port = await listening(app)
  const scene = await firingScene(app)
  // Written past the save check, as a postback saved before the service listened there could be.
  await app.db.insertInto('postbacks').values({
    affiliate_id: scene.affiliate.id,
    offer_id: null,
    url: `http://localhost:${port}/postback?clickid={clickid}&action_id=loop-{rand}&status=1`,
    method: 'GET',
    status: 'any',
    integration_method: 'all',
    force_global: false,
    goal: null,
  }).execute()
  await convert(app, scene)
  const [delivery] = await eventually(async () => {
    const list = await listDeliveries(app, `?affiliate_id=${scene.affiliate.id}`)
    return list.length > 0 ? list : undefined
  })
  const done = await settled(app, delivery!.id)
  t.equal(done.state, 'failed', 'refused for good')
  t.equal(done.attempts, 1, 'one attempt, not retried')
  t.match(done.last_error, /this service itself/, 'the attempt says why')
  t.equal(await conversionCount(app), 1, 'no conversion came of it')
})

t.test('intake refuses this deployment\'s own postbacks coming back, even through a proxy; others pass', async (t) => {
  const { app } = await build(t)
  const port = await listening(app)
  // A TCP forwarder on another port: the sender cannot see it leads here, so only intake can stop the loop.
  const sockets = new Set<net.Socket>()
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    proxy.close(() => resolve())
  }))
  const proxyPort = (proxy.address() as net.AddressInfo).port

  const scene = await firingScene(app)
  const postback = await inject(app, {
    method: 'POST',
    url: `/v1/affiliates/${scene.affiliate.id}/postbacks`,
    payload: { url: `http://127.0.0.1:${proxyPort}/postback?clickid={clickid}&action_id=loop-{rand}&status=1` },
  })
  t.equal(postback.statusCode, 201, 'the proxy is another port: accepted at save')
  await convert(app, scene)
  const [delivery] = await eventually(async () => {
    const list = await listDeliveries(app, `?affiliate_id=${scene.affiliate.id}`)
    return list.length > 0 ? list : undefined
  })
  const answered = await eventually(async () => {
    const d = await getDelivery(app, delivery!.id)
    return d.attempts >= 1 ? d : undefined
  }, 8000, 'the attempt to be answered')
  t.equal(answered.last_http_code, 508, 'intake answered 508 Loop detected')
  t.equal(await conversionCount(app), 1, 'the loop made no conversion')
  const log = await inject(app, { method: 'GET', url: '/v1/server-postbacks?limit=5' })
  t.match(log.json().data, [{ result: 'rejected', http_status: 508 }], 'the refusal is in the server-postback log')

  const clickid = (await app.db.selectFrom('clicks').select('clickid').executeTakeFirstOrThrow()).clickid
  const forged = await inject(app, { method: 'GET', url: `/postback?clickid=${clickid}&action_id=other`, headers: { [LOOP_GUARD_HEADER]: '7.not-the-mark' } })
  t.equal(forged.statusCode, 200, 'a mark this deployment did not make is no reason to refuse')
  // §5.1: the delivery headers of §5.5 are refused too, whoever sent them, and logged.
  for (const [what, headers] of [
    ['X-Postback-Delivery-Id', { 'x-postback-delivery-id': '22' }],
    ['the dispatcher\'s User-Agent', { 'user-agent': 'S2S-Tracker/0.1.0' }],
  ] as const) {
    const res = await inject(app, { method: 'GET', url: `/postback?clickid=${clickid}&action_id=${encodeURIComponent(what)}`, headers })
    t.equal(res.statusCode, 508, `a request with ${what} is refused`)
    t.equal(res.json().type, 'https://s2s-tracker.dev/problems/loop-detected')
  }
  const refusals = (await inject(app, { method: 'GET', url: '/v1/server-postbacks?result=rejected&limit=5' })).json().data
  t.ok(refusals.filter((row: { http_status: number }) => row.http_status === 508).length >= 3, 'each refusal is in the server-postback log')
  t.equal(await conversionCount(app), 2, 'none of them made a conversion')
  const own = await inject(app, { method: 'GET', url: `/postback?clickid=${clickid}&action_id=mine`, headers: { [LOOP_GUARD_HEADER]: app.ownService.loopGuard('7') } })
  t.equal(own.statusCode, 508, 'its own mark is refused')
  t.equal(own.json().type, 'https://s2s-tracker.dev/problems/loop-detected')
})
