import autocannon, { type Options, type Result } from 'autocannon'
import pg from 'pg'
import t from 'tap'
import { build, createTestDatabase, eventually } from '../helpers/build.js'
import { convert, createPostback, listDeliveries } from '../helpers/fixtures.js'
import { firingScene, httpScene } from '../helpers/scenes.js'
import { compileService, NEEDS_POSTGRES, startService } from '../helpers/service-process.js'
import { startSink } from '../helpers/sink.js'

// Overload, bounded: more connections than the click route can serve for a few seconds, and a receiver
// that never answers. Everything stays on 127.0.0.1.

const CONNECTIONS = 200
const DURATION_S = 3
const PEAK_RSS_LIMIT_MIB = 512

t.test('the click route under 200 connections keeps answering and records every click it answered', NEEDS_POSTGRES, async (t) => {
  const entry = await compileService(t)
  const databaseUrl = await createTestDatabase(t)
  // warn: the per-request info line would make this test measure its own pipe, not the service.
  const service = await startService(t, { entry, databaseUrl, env: { LOG_LEVEL: 'warn' } })
  const scene = await httpScene(service.origin, databaseUrl, 'http://127.0.0.1:9/unused')
  const rssBefore = await service.peakRssMiB()

  const answered = new Set<string>()
  let shedWithoutRetryAfter = 0
  let otherStatuses = 0
  const result = (await autocannon({
    url: service.origin,
    connections: CONNECTIONS,
    duration: DURATION_S,
    timeout: 10,
    requests: [{
      method: 'GET',
      path: `/click?pid=${scene.affiliateId}&offer_id=${scene.offerId}&sub1=load&sub2={x}`,
      onResponse: (status: number, _body: string, _context: unknown, headers: Record<string, string>) => {
        const header = (name: string) => Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1]
        if (status === 302) {
          const clickid = /[?&]click=([0-9a-f]{24})/.exec(header('location') ?? '')?.[1]
          if (clickid === undefined) otherStatuses += 1
          else answered.add(clickid)
        } else if (status === 503) {
          if (header('retry-after') === undefined) shedWithoutRetryAfter += 1
        } else {
          otherStatuses += 1
        }
      },
    }],
  } as unknown as Options)) as Result
  const peakRss = await service.peakRssMiB()
  const shed = result.statusCodeStats['503']?.count ?? 0
  t.comment(`${CONNECTIONS} connections for ${DURATION_S} s: ${result.requests.total} requests, ${answered.size} answered 302, ` +
    `${shed} shed (503), ${result.errors} errors, ${result.timeouts} timeouts; ${result.requests.average.toFixed(0)} req/s, ` +
    `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`)
  t.comment(`service RSS: ${rssBefore} MiB before the load, peak ${peakRss} MiB`)

  t.ok(answered.size > 0, 'clicks were answered')
  t.equal(otherStatuses, 0, 'every answer is a 302 with a click id, or a 503')
  t.equal(shedWithoutRetryAfter, 0, 'a shed request carries Retry-After')
  t.equal(result.timeouts, 0, 'no request waited 10 s for an answer')
  t.equal(result.errors, 0, 'no connection was refused or reset')
  t.ok(peakRss === null || peakRss < PEAK_RSS_LIMIT_MIB, `peak RSS ${peakRss} MiB stays under ${PEAK_RSS_LIMIT_MIB} MiB`)
  const health = await fetch(`${service.origin}/health`)
  t.equal(health.status, 200, 'the process still answers after the load')

  // A graceful stop flushes the buffer; then every answered click must be in the table.
  t.equal(await service.kill('SIGTERM'), 0, 'graceful shutdown')
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const stored = new Set((await client.query<{ clickid: string }>('select clickid from clicks')).rows.map((row) => row.clickid))
  await client.end()
  const missing = [...answered].filter((id) => !stored.has(id))
  t.comment(`clicks in the table: ${stored.size}; answered but missing: ${missing.length}`)
  t.equal(missing.length, 0, 'every answered click was recorded')
})

t.test('a receiver that hangs: the dispatcher keeps its bounds and other affiliates\' postbacks flow', async (t) => {
  const concurrency = 8
  const timeoutMs = 1000
  const { app } = await build(t, {
    env: { POSTBACK_CONCURRENCY: String(concurrency), POSTBACK_TIMEOUT_MS: String(timeoutMs), POSTBACK_RETRY_SCHEDULE: '200ms,200ms' },
  })
  const hanging = await startSink(t, { otherwise: { hang: true } })
  const healthy = await startSink(t, { otherwise: { delayMs: 5 } })
  const stuck = await firingScene(app)
  const flowing = await firingScene(app)
  await createPostback(app, { affiliate_id: stuck.affiliate.id, url: `${hanging.origin}/pb?c={clickid}` })
  await createPostback(app, { affiliate_id: flowing.affiliate.id, url: `${healthy.origin}/pb?c={clickid}` })

  let maxInFlight = 0
  const sampler = setInterval(() => { maxInFlight = Math.max(maxInFlight, app.dispatcher.inFlight) }, 5)
  t.teardown(() => clearInterval(sampler))

  for (let i = 0; i < 30; i++) await convert(app, stuck, { action_id: `stuck-${i}` })
  await eventually(() => hanging.inFlight > 0, 5000, 'the hanging receiver to hold requests')
  const started = Date.now()
  for (let i = 0; i < 30; i++) await convert(app, flowing, { action_id: `flowing-${i}` })
  await eventually(() => healthy.arrivals.size === 30, 10_000, 'the healthy receiver to get all 30').catch(async (err: Error) => {
    const rows = await listDeliveries(app, `?affiliate_id=${flowing.affiliate.id}&limit=100`)
    const states = rows.map((d) => `${d.id}:${d.state}/${d.attempts}${d.last_error === null ? '' : ` ${d.last_error}`}`)
    throw new Error(`${err.message}: ${healthy.arrivals.size} arrived; dispatcher holds ${app.dispatcher.inFlight}; ` +
      `hanging receiver holds ${hanging.inFlight}; the healthy deliveries: ${states.join(', ')}`)
  })
  const flowMs = Date.now() - started
  const delivered = await eventually(async () => {
    const rows = await listDeliveries(app, `?affiliate_id=${flowing.affiliate.id}&limit=100`)
    return rows.length === 30 && rows.every((d) => d.state === 'delivered') ? rows : undefined
  }, 5000, 'the healthy deliveries to be recorded')
  t.equal(delivered.length, 30, 'every postback of the other affiliate was delivered while the hanging one held its slots')
  t.comment(`30 conversions and their postbacks to the healthy receiver took ${flowMs} ms beside the hanging receiver`)

  // Let a round of hung attempts reach their timeout, then judge the bounds.
  await eventually(() => hanging.openDurations.length >= 2, timeoutMs * 3, 'hung attempts to be cut off')
  const stuckRows = await listDeliveries(app, `?affiliate_id=${stuck.affiliate.id}&limit=100`)
  const attempted = stuckRows.filter((d) => d.attempts > 0)
  t.ok(attempted.length > 0 && attempted.every((d) => /timeout/.test(d.last_error ?? '')), 'hung attempts are recorded as timeouts')
  const longest = Math.max(...hanging.openDurations)
  t.comment(`hanging receiver: at most ${hanging.maxInFlight} requests open at once, longest held ${longest} ms; ` +
    `dispatcher in flight at most ${maxInFlight} of ${concurrency}`)
  t.ok(longest <= timeoutMs + 1000, `every hung attempt was given up within POSTBACK_TIMEOUT_MS (${timeoutMs} ms) plus slack`)
  t.ok(maxInFlight <= concurrency, 'the dispatcher never held more than POSTBACK_CONCURRENCY')
  t.ok(hanging.maxInFlight < concurrency, 'one hanging receiver never takes every slot')
})
