import t from 'tap'
import { build, eventually, inject } from '../helpers/build.js'
import { convert, createPostback, listDeliveries, patchConversion, settled } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { startSink } from '../helpers/sink.js'
import { VERSION } from '../../src/version.js'

// Every §5.3 macro, as the receiver decodes it; the raw wire form shows the encoding.
const MACROS = [
  'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'ref_id', 'ext1', 'ext2', 'ext3',
  'transactionid', 'offerid', 'offer_id', 'offer_name', 'goal', 'sum', 'payout', 'currency', 'order_sum',
  'order_currency', 'status', 'status_name', 'date', 'timestamp', 'click_date', 'ip', 'uagent', 'geo', 'comment',
  ...Array.from({ length: 15 }, (_, i) => `custom_field${i + 1}`),
  'rand', 'clickid', 'conversion_id', 'pid',
]
const TRICKY = 'a b&c=d#e?f/g+h%i ü€日本'

function affiseDate (iso: string): string {
  return iso.slice(0, 19).replace('T', ' ')
}

t.test('a conversion fires its postback with every macro rendered and percent-encoded', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const scene = await firingScene(app, { title: 'Summer & Sale #1 = ü', currency: 'EUR' })
  const template = `${sink.origin}/pb?${MACROS.map((m) => `${m}={${m}}`).join('&')}&unknown={nope}&literal=x`
  const pb = await createPostback(app, { affiliate_id: scene.affiliate.id, offer_id: scene.offer.id, url: template })

  const clickParams: Record<string, string> = { sub1: TRICKY, ref_id: 'ref 1' }
  for (const name of ['sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'ext1', 'ext2', 'ext3']) clickParams[name] = `${name}-value`
  const customFields: Record<string, string> = {}
  for (let i = 1; i <= 15; i++) customFields[`custom_field${i}`] = i === 1 ? TRICKY : `cf${i}`
  const conversionId = await convert(app, scene, {
    action_id: 'order 42&x',
    sum: '120.50',
    order_currency: 'usd',
    comment: TRICKY,
    country: 'de',
    ip: '198.51.100.23',
    ...customFields,
  }, clickParams)

  await eventually(() => sink.to('/pb').length === 1, 5000, 'the postback to arrive')
  const received = sink.to('/pb')[0]!
  const [delivery] = await listDeliveries(app, `?conversion_id=${conversionId}`)
  t.ok(delivery, 'a delivery was recorded')
  const conversion = (await inject(app, { method: 'GET', url: `/v1/conversions/${conversionId}` })).json()
  const clickRow = (await inject(app, { method: 'GET', url: `/v1/clicks/${conversion.clickid}` })).json()

  const q = received.query
  const expected: Record<string, string> = {
    ...clickParams,
    ...customFields,
    transactionid: 'order 42&x',
    offerid: String(scene.offer.id),
    offer_id: String(scene.offer.id),
    offer_name: 'Summer & Sale #1 = ü',
    goal: '1',
    sum: '9.998',
    payout: '9.998',
    currency: 'EUR',
    order_sum: '120.5',
    status: '1',
    status_name: 'approved',
    date: affiseDate(conversion.created_at),
    timestamp: String(Math.floor(Date.parse(conversion.created_at) / 1000)),
    click_date: affiseDate(clickRow.created_at),
    ip: '198.51.100.23',
    uagent: 'TestAgent/1.0',
    geo: 'DE',
    comment: TRICKY,
    clickid: conversion.clickid,
    conversion_id: String(conversionId),
    pid: String(scene.affiliate.id),
    unknown: '',
    literal: 'x',
  }
  for (const [name, value] of Object.entries(expected)) t.equal(q.get(name), value, `{${name}}`)
  t.match(q.get('order_currency'), /^usd$/i, '{order_currency} as the advertiser sent it')
  t.match(q.get('rand'), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, '{rand} is a UUID')

  // On the wire: RFC 3986 encoding, so '&', '=', '#', '?', '/', '+', '%' and spaces never break the query.
  t.match(received.url, 'sub1=a%20b%26c%3Dd%23e%3Ff%2Fg%2Bh%25i%20%C3%BC%E2%82%AC%E6%97%A5%E6%9C%AC&')
  t.match(received.url, '&unknown=&literal=x')
  t.equal(received.method, 'GET')
  t.equal(received.headers['user-agent'], `s2s-tracker/${VERSION}`)
  t.equal(received.headers['x-postback-delivery-id'], String(delivery!.id))
  t.equal(delivery!.url, `${sink.origin}${received.url}`, 'the stored URL is exactly what was sent')
  t.equal(delivery!.body, null)
  t.equal(delivery!.postback_id, pb.id)

  const done = await settled(app, delivery!.id)
  t.match(done, { state: 'delivered', attempts: 1, last_http_code: 200, last_error: null, next_attempt_at: null })
  t.ok(done.delivered_at)
  t.match(done.attempt_log, [{ n: 1, http_code: 200, response_body: 'ok', error: null }])
})

t.test('POST sends the query string as a form body to the URL without it; status changes fire again', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const scene = await firingScene(app)
  await createPostback(app, {
    affiliate_id: scene.affiliate.id,
    offer_id: scene.offer.id,
    method: 'POST',
    url: `${sink.origin}/form/{pid}?cid={sub1}&status={status}&sum={sum}#frag`,
  })
  const conversionId = await convert(app, scene, { status: 2 }, { sub1: 'x y&z' })
  await eventually(() => sink.to(`/form/${scene.affiliate.id}`).length === 1, 5000, 'the POST')
  const first = sink.to(`/form/${scene.affiliate.id}`)[0]!
  t.equal(first.method, 'POST')
  t.equal(first.url, `/form/${scene.affiliate.id}`, 'no query string on the URL')
  t.equal(first.headers['content-type'], 'application/x-www-form-urlencoded')
  t.equal(first.body, 'cid=x%20y%26z&status=2&sum=9.998')

  const patched = await patchConversion(app, conversionId, { status: 'approved' })
  t.equal(patched.statusCode, 200)
  await eventually(() => sink.to(`/form/${scene.affiliate.id}`).length === 2, 5000, 'the status-change POST')
  t.equal(sink.to(`/form/${scene.affiliate.id}`)[1]!.body, 'cid=x%20y%26z&status=1&sum=9.998')

  const deliveries = await listDeliveries(app, `?conversion_id=${conversionId}`)
  t.equal(deliveries.length, 2, 'one delivery per event')
  t.not(deliveries[0]!.event_id, deliveries[1]!.event_id)
  for (const d of deliveries) {
    t.equal(d.method, 'POST')
    t.equal(d.url, `${sink.origin}/form/${scene.affiliate.id}`)
  }
})

t.test('firing rules end to end: locals before globals, force_global, goal and status filters', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const scene = await firingScene(app, {
    goals: [
      { value: '1', title: 'Lead', type: 'fixed', revenue: 1, payout: 1 },
      { value: 'Sale', title: 'Sale', type: 'fixed', revenue: 5, payout: 4 },
    ],
  })
  const a = scene.affiliate.id
  const o = scene.offer.id
  await createPostback(app, { affiliate_id: a, offer_id: o, url: `${sink.origin}/local-sale`, goal: 'sale' })
  await createPostback(app, { affiliate_id: a, offer_id: o, url: `${sink.origin}/local-declined`, status: 'declined' })
  await createPostback(app, { affiliate_id: a, url: `${sink.origin}/global` })
  await createPostback(app, { affiliate_id: a, url: `${sink.origin}/global-forced`, force_global: true })

  // Goal SALE (case differs): the local goal postback matches, so neither global fires.
  const sale = await convert(app, scene, { goal: 'SALE' })
  // Goal 1: no local matches; only the forced global fires.
  const lead = await convert(app, scene, { goal: '1' })
  await eventually(() => sink.requests.length === 2, 5000, 'two postbacks')
  t.same(sink.requests.map((r) => r.path).sort(), ['/global-forced', '/local-sale'])
  t.equal((await listDeliveries(app, `?conversion_id=${sale}`)).length, 1)
  t.equal((await listDeliveries(app, `?conversion_id=${lead}`)).length, 1)
  t.equal((await listDeliveries(app, `?affiliate_id=${a}`)).length, 2)
})
