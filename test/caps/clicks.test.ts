import t from 'tap'
import { setTimeout as pause } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { createAffiliate, createOffer, patchOffer } from '../helpers/fixtures.js'

const TRAFFICBACK = 'https://network.example/more-offers'

/** One click; true when it went to the offer, false when to trafficback. */
async function clickThrough (app: FastifyInstance, offerId: number, affiliateId: number, method: 'GET' | 'HEAD' = 'GET'): Promise<boolean> {
  const res = await app.inject({ method, url: `/click?pid=${affiliateId}&offer_id=${offerId}`, remoteAddress: '203.0.113.7' })
  if (res.statusCode !== 302) throw new Error(`click: ${res.statusCode} ${res.body}`)
  return !String(res.headers.location).startsWith(TRAFFICBACK)
}

async function clicks (app: FastifyInstance, offerId: number, affiliateId: number, n: number): Promise<boolean[]> {
  const out: boolean[] = []
  for (let i = 0; i < n; i++) out.push(await clickThrough(app, offerId, affiliateId))
  return out
}

t.test('clicks caps: past the limit to trafficback (Overcap); per affiliate, one affiliate, HEAD, a new period', async (t) => {
  let now = new Date('2026-12-05T12:00:00Z')
  const { app } = await build(t, { clock: () => now })
  const [a, b, c] = [await createAffiliate(app), await createAffiliate(app), await createAffiliate(app)]
  const offer = await createOffer(app, {
    trafficback_url: TRAFFICBACK,
    caps: [{ metric: 'clicks', period: 'day', limit: 3, per_affiliate: true }, { metric: 'clicks', period: 'day', limit: 1, affiliate_id: c.id }],
  })
  t.same(await clicks(app, offer.id, a.id, 4), [true, true, true, false], 'a: three, then trafficback')
  t.same(await clicks(app, offer.id, b.id, 4), [true, true, true, false], 'b has three of its own')
  t.same(await clicks(app, offer.id, c.id, 2), [true, false], 'c has one')
  t.equal(await clickThrough(app, offer.id, a.id, 'HEAD'), false, 'HEAD answers like GET')
  t.ok(app.clickRecorder.invalid.Overcap! >= 4, 'counted as Overcap')

  now = new Date('2026-12-06T00:00:00Z')
  t.same(await clicks(app, offer.id, a.id, 4), [true, true, true, false], 'a new day: three again')

  const global = await createOffer(app, { trafficback_url: TRAFFICBACK, caps: [{ metric: 'clicks', period: 'month', limit: 2 }] })
  t.equal(await clickThrough(app, global.id, a.id, 'HEAD'), true, 'HEAD counts toward no cap')
  t.same([...await clicks(app, global.id, a.id, 1), ...await clicks(app, global.id, b.id, 2)], [true, true, false], 'every affiliate together')
  await patchOffer(app, global.id, { caps: [{ metric: 'clicks', period: 'month', limit: 3 }] })
  t.same(await clicks(app, global.id, c.id, 2), [true, false], 'a raised limit keeps the count')
  now = new Date('2027-01-01T00:00:00Z')
  t.same(await clicks(app, global.id, c.id, 1), [true], 'a new month')

  const status = await eventually(async () => {
    const data = (await inject(app, { method: 'GET', url: `/v1/offers/${global.id}/caps` })).json().data
    return data[0].used === 1 ? data[0] : undefined
  }, 3000, 'the shared count')
  t.match(status, { used: 1, remaining: 2, period_start: '2027-01-01T00:00:00.000Z' })
})

t.test('two instances on one database: a clicks cap is passed by at most one second of their traffic', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const first = await build(t)
  const second = await build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir })
  const affiliate = await createAffiliate(first.app)
  const LIMIT = 150
  const offer = await createOffer(first.app, { trafficback_url: TRAFFICBACK, caps: [{ metric: 'clicks', period: 'day', limit: LIMIT }] })
  // Both instances know the offer before the traffic starts.
  await eventually(() => second.app.clickReplica.offers.get(offer.id)?.clickCaps.length === 1, 3000, 'the offer on the second instance')

  const started = Date.now()
  const DURATION_MS = 2500
  let sent = 0
  let admitted = 0
  // Each instance takes a steady stream of clicks, one every 5 ms or so, as a fleet behind a load balancer would.
  await Promise.all([first.app, second.app].map(async (app) => {
    while (Date.now() - started < DURATION_MS) {
      sent += 1
      if (await clickThrough(app, offer.id, affiliate.id)) admitted += 1
      await pause(5)
    }
  }))
  const perSecond = sent / ((Date.now() - started) / 1000)
  t.ok(admitted >= LIMIT, `the cap was filled (${admitted} admitted)`)
  t.ok(admitted - LIMIT <= perSecond, `passed by ${admitted - LIMIT} clicks, at most one second of the fleet's ${perSecond.toFixed(0)} clicks/s`)
  t.comment(`sent ${sent}, admitted ${admitted}, limit ${LIMIT}, fleet ${perSecond.toFixed(0)} clicks/s`)

  const used = await eventually(async () => {
    const data = (await inject(first.app, { method: 'GET', url: `/v1/offers/${offer.id}/caps` })).json().data
    return data[0].used === admitted ? data[0].used : undefined
  }, 3000, 'both instances\' clicks in the shared count')
  t.equal(used, admitted, 'every admitted click is counted once')
})
