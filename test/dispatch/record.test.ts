import t from 'tap'
import { recordAttempts, type AttemptDecision } from '../../src/dispatch/repository.js'
import type { AttemptOutcome } from '../../src/dispatch/sender.js'
import { build } from '../helpers/build.js'
import { createPostback } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery } from '../helpers/seeds.js'

// Recording attempts (record_postback_attempts): what each decision does to the delivery, and the lease guard.
// Every delivery here is leased far ahead, so the app's own dispatcher leaves it alone.
const LEASED = new Date(Date.now() + 3_600_000)

const answered = (httpCode: number): AttemptOutcome => ({
  at: new Date(),
  httpCode,
  durationMs: 12,
  responseBody: `answer ${httpCode}`,
  error: httpCode < 300 ? null : `HTTP ${httpCode}`,
  ok: httpCode < 300,
  refused: false,
})
/** Defaults: nothing this file records comes near disabling a postback. */
const HEALTH = { disableAfter: 50, disableMinAgeMs: 86_400_000, now: () => new Date() }
const delivered: AttemptDecision = { state: 'delivered', retryInMs: null, keepCancelled: true }
const retryIn1h: AttemptDecision = { state: 'pending', retryInMs: 3_600_000, keepCancelled: true }

t.test('a batch of attempts: each decision applied, leases released, attempts numbered; a taken-over lease only counts', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: 'https://affiliate.example.org/pb' })
  const insert = (holder: string, attempts = 0) =>
    insertDelivery(app, scene, { postbackId: postback.id, url: 'https://affiliate.example.org/pb?c=1', attempts, lockedBy: holder, lockedUntil: LEASED })
  const ok = await insert('me')
  const again = await insert('me', 2)
  const cancelled = await insert('me')
  await app.db.updateTable('postback_deliveries').set({ state: 'cancelled' }).where('id', '=', cancelled).execute()
  const takenOver = await insert('someone-else')

  const { results } = await recordAttempts(app.db, [
    { deliveryId: ok, holder: 'me', outcome: answered(204), decision: delivered },
    { deliveryId: again, holder: 'me', outcome: answered(503), decision: retryIn1h },
    { deliveryId: cancelled, holder: 'me', outcome: answered(500), decision: retryIn1h },
    { deliveryId: takenOver, holder: 'me', outcome: answered(200), decision: delivered },
  ], HEALTH)
  t.same(Object.fromEntries(results), {
    [ok]: { recorded: true, n: 1 }, [again]: { recorded: true, n: 3 }, [cancelled]: { recorded: true, n: 1 }, [takenOver]: { recorded: false, n: 1 },
  })

  const rows = await app.db.selectFrom('postback_deliveries').selectAll().where('id', 'in', [ok, again, cancelled, takenOver]).execute()
  const row = (id: number) => rows.find((r) => r.id === id)!
  t.match(row(ok), { state: 'delivered', attempts: 1, last_http_code: 204, last_error: null, next_attempt_at: null, locked_by: null, locked_until: null })
  t.ok(row(ok).delivered_at instanceof Date)
  t.match(row(again), { state: 'pending', attempts: 3, last_http_code: 503, last_error: 'HTTP 503', locked_by: null, delivered_at: null })
  const wait = row(again).next_attempt_at!.getTime() - Date.now()
  t.ok(wait > 3_500_000 && wait <= 3_600_000, `the retry is scheduled an hour ahead (${wait} ms)`)
  t.match(row(cancelled), { state: 'cancelled', attempts: 1, next_attempt_at: null, locked_by: null }, 'a cancelled delivery stays cancelled')
  t.match(row(takenOver), { state: 'pending', attempts: 1, locked_by: 'someone-else', last_http_code: null }, 'the new holder keeps state and lease')
  t.same(row(takenOver).locked_until, LEASED)

  const log = await app.db.selectFrom('postback_attempts').select(['delivery_id', 'n', 'http_code', 'duration_ms', 'response_body', 'error'])
    .where('delivery_id', 'in', [ok, again, cancelled, takenOver]).orderBy('delivery_id').execute()
  t.same(log, [
    { delivery_id: ok, n: 1, http_code: 204, duration_ms: 12, response_body: 'answer 204', error: null },
    { delivery_id: again, n: 3, http_code: 503, duration_ms: 12, response_body: 'answer 503', error: 'HTTP 503' },
    { delivery_id: cancelled, n: 1, http_code: 500, duration_ms: 12, response_body: 'answer 500', error: 'HTTP 500' },
    { delivery_id: takenOver, n: 1, http_code: 200, duration_ms: 12, response_body: 'answer 200', error: null },
  ], 'every attempt is in the log, the taken-over one too')
})
