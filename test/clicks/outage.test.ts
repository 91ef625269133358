import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { ADMIN_KEY, build, createDataDir, eventually, inject } from '../helpers/build.js'
import { clickidIn, createAffiliate, createLink, createOffer, OFFER_URL, pathOf, requestPublicPath } from '../helpers/fixtures.js'
import { countClicks } from '../helpers/seeds.js'
import { NEEDS_PG_BINARIES, startOwnPostgres } from '../helpers/own-postgres.js'

// Every active offer, affiliate and shortlink is known to every instance from its start on, so a click on
// any of them redirects while the database is away, the first click on it included (contract §3).

const TRAFFICBACK = 'https://tb.example/back'

function patch (app: Parameters<typeof inject>[0], url: string, body: Record<string, unknown>) {
  return inject(app, { method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body) })
}

const OFFER_LOCATION = /^https:\/\/adv\.example\/land\?c=[0-9a-f]{24}$/

t.test('outage: offers, affiliates and short links never clicked before redirect while the database is away', NEEDS_PG_BINARIES, async (t) => {
  const postgres = await startOwnPostgres(t)
  const { app } = await build(t, { databaseUrl: postgres.url })

  // Created after the start, never clicked: they reach click validation through the refresh alone.
  const offer = await createOffer(app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  const affiliate = await createAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true, params: { sub1: 'kept' } })
  const paused = await createOffer(app, { url: OFFER_URL, trafficback_url: TRAFFICBACK })
  t.equal((await patch(app, `/v1/offers/${paused.id}`, { status: 'paused' })).statusCode, 200)
  const code = pathOf(link.short_url as string).slice(1)
  await eventually(
    () => app.clickReplica.shortLinks.has(code) && app.clickReplica.offers.get(paused.id)?.status === 'paused',
    1000, 'the new link and the pause to reach the replica'
  )

  await postgres.stop()
  const full = await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`)
  t.equal(full.statusCode, 302, 'the full link redirects with the database away')
  t.match(full.headers.location, OFFER_LOCATION, 'to the offer URL with a click id')
  const short = await requestPublicPath(app, `/${code}`)
  t.equal(short.statusCode, 302, 'the short link redirects with the database away')
  t.match(short.headers.location, OFFER_LOCATION)
  t.equal((await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${paused.id}`)).headers.location, TRAFFICBACK, 'a paused offer: trafficback')
  t.equal((await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id + 1000}`)).statusCode, 404, 'an unknown offer: 404')
  t.equal(app.clickRecorder.buffered, 2, 'both valid clicks are buffered')

  // The database comes back: the buffer is written and the replica follows changes again.
  await postgres.start()
  await eventually(async () => app.clickRecorder.buffered === 0 && (await countClicks(app)) === 2, 10_000, 'the buffered clicks to be written')
  t.ok(clickidIn(full.headers.location) !== clickidIn(short.headers.location), 'two clicks, two ids')
  const later = await createOffer(app, { url: OFFER_URL })
  await eventually(async () => (await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${later.id}`)).statusCode === 302, 5000, 'a new offer after the outage')
})

t.test('outage: every click beyond the buffer bound is counted as dropped and reported once per interval', NEEDS_PG_BINARIES, async (t) => {
  const postgres = await startOwnPostgres(t)
  const lines: { msg: string; dropped?: number; droppedTotal?: number }[] = []
  const config = loadConfig({ ADMIN_API_KEYS: ADMIN_KEY, LOG_LEVEL: 'info', DATA_DIR: await createDataDir(t), DATABASE_URL: postgres.url })
  const BOUND = 5
  const app = await buildApp(
    { ...config, clickBufferLimit: BOUND, clickDropReportIntervalMs: 300 },
    { logStream: { write: (line: string) => { lines.push(JSON.parse(line) as (typeof lines)[number]) } } }
  )
  t.teardown(() => app.close())
  await app.ready()
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)

  await postgres.stop()
  const CLICKS = 23
  const statuses = new Set<number>()
  for (let i = 0; i < CLICKS; i++) statuses.add((await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`)).statusCode)
  t.same([...statuses], [302], 'every click redirects, kept or not')
  t.same(app.clickRecorder.stats(), { recorded: 0, buffered: BOUND, dropped: CLICKS - BOUND }, 'every click beyond the bound is counted')
  const report = await eventually(() => lines.find((line) => line.dropped !== undefined), 5000, 'the interval\'s report')
  t.match(report, { dropped: CLICKS - BOUND, droppedTotal: CLICKS - BOUND }, 'the report gives the interval\'s count and the total')
  t.match(report.msg, `${CLICKS - BOUND} clicks dropped`)

  // A later burst is reported on its own, with the running total.
  for (let i = 0; i < 4; i++) await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`)
  const second = await eventually(() => lines.filter((line) => line.dropped !== undefined)[1], 5000, 'the next report')
  t.match(second, { dropped: 4, droppedTotal: CLICKS - BOUND + 4 })
})
