import t from 'tap'
import { recordAttempts, type AttemptDecision, type HealthPolicy } from '../../src/dispatch/repository.js'
import type { AttemptOutcome } from '../../src/dispatch/sender.js'
import { build, inject } from '../helpers/build.js'
import { createPostback } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery } from '../helpers/seeds.js'
import { testClock } from '../helpers/clock.js'

// Endpoint health (§5.7) as the record of attempts keeps it: each case is a sequence of batches, each batch the
// outcomes of deliveries of one postback, recorded at a time the test's clock gives. Every delivery is leased far
// ahead, so the app's own dispatcher leaves it alone.
const LEASED = new Date(Date.now() + 3_600_000)
const HOUR = 3_600_000
const T0 = new Date('2026-12-05T08:00:00Z')

const outcome = (ok: boolean): AttemptOutcome => ({
  at: new Date(), httpCode: ok ? 200 : 500, durationMs: 5, responseBody: '', error: ok ? null : 'HTTP 500', ok, refused: false,
})
const DECISIONS: Record<Step, AttemptDecision> = {
  ok: { state: 'delivered', retryInMs: null, keepCancelled: false },
  fail: { state: 'failed', retryInMs: null, keepCancelled: false },
  retry: { state: 'pending', retryInMs: HOUR, keepCancelled: true },
}
/** A delivery that ends delivered, one that ends failed, one whose attempt failed with retries left (ends nothing). */
type Step = 'ok' | 'fail' | 'retry'

interface Case {
  name: string
  /** Hours after T0 at which each batch is recorded, and the batch's outcomes in order. */
  batches: Array<[hours: number, steps: Step[]]>
  want: { state: string; consecutive_failures: number; disabled?: boolean; failingSinceHours?: number | null; disabledLogged?: number }
}

// Disabled after 3 consecutive failures spanning at least 2 hours.
const POLICY = { disableAfter: 3, disableMinAgeMs: 2 * HOUR }

const CASES: Case[] = [
  { name: 'nothing ended yet', batches: [[0, ['retry', 'retry']]], want: { state: 'healthy', consecutive_failures: 0, failingSinceHours: null } },
  { name: 'one failure', batches: [[0, ['fail']]], want: { state: 'failing', consecutive_failures: 1, failingSinceHours: 0 } },
  { name: 'a success resets the count', batches: [[0, ['fail', 'fail']], [1, ['ok']]], want: { state: 'healthy', consecutive_failures: 0, failingSinceHours: null } },
  { name: 'in one batch, only failures after its last success count', batches: [[0, ['fail', 'ok', 'fail']]], want: { state: 'failing', consecutive_failures: 1 } },
  { name: 'a batch with a success starts a new run', batches: [[0, ['fail', 'fail']], [1, ['ok', 'fail', 'fail']]], want: { state: 'failing', consecutive_failures: 2, failingSinceHours: 1 } },
  { name: 'enough failures, too short a span: failing', batches: [[0, ['fail', 'fail']], [1, ['fail', 'fail']]], want: { state: 'failing', consecutive_failures: 4, failingSinceHours: 0 } },
  {
    name: 'enough failures over the span: disabled, once',
    batches: [[0, ['fail', 'fail']], [1, ['fail']], [2, ['fail']], [3, ['fail']]],
    want: { state: 'disabled', consecutive_failures: 5, disabled: true, disabledLogged: 1 },
  },
  { name: 'a long span, too few failures: failing', batches: [[0, ['fail']], [30, ['fail']]], want: { state: 'failing', consecutive_failures: 2 } },
  {
    name: 'a success on a disabled postback resets the count, and it stays disabled',
    batches: [[0, ['fail', 'fail']], [2, ['fail']], [3, ['ok']]],
    want: { state: 'disabled', consecutive_failures: 0, disabled: true },
  },
]

t.test('endpoint health: the state machine, batch by batch, on a clock the test moves', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  for (const c of CASES) {
    const clock = testClock(T0)
    const health: HealthPolicy = { ...POLICY, now: clock.now }
    const url = 'https://affiliate.example.org/pb'
    const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url })
    let disabledLogged = 0
    for (const [hours, steps] of c.batches) {
      clock.set(new Date(T0.getTime() + hours * HOUR).toISOString())
      const ids: number[] = []
      for (let i = 0; i < steps.length; i++) {
        ids.push(await insertDelivery(app, scene, { postbackId: postback.id, url, lockedBy: 'me', lockedUntil: LEASED }))
      }
      const { disabled } = await recordAttempts(app.db, steps.map((step, i) => ({
        deliveryId: ids[i]!, holder: 'me', outcome: outcome(step === 'ok'), decision: DECISIONS[step],
      })), health)
      disabledLogged += disabled.filter((d) => d.id === postback.id).length
    }
    const row = await app.db.selectFrom('postbacks').selectAll().where('id', '=', postback.id).executeTakeFirstOrThrow()
    const api = (await inject(app, { method: 'GET', url: `/v1/postbacks/${postback.id}` })).json()
    t.equal(api.health.state, c.want.state, `${c.name}: state`)
    t.equal(api.health.consecutive_failures, c.want.consecutive_failures, `${c.name}: consecutive failures`)
    t.equal(row.disabled_at !== null, c.want.disabled === true, `${c.name}: disabled or not`)
    if (c.want.failingSinceHours !== undefined) {
      t.same(row.failing_since?.getTime() ?? null, c.want.failingSinceHours === null ? null : T0.getTime() + c.want.failingSinceHours * HOUR, `${c.name}: failing since`)
    }
    if (c.want.disabledLogged !== undefined) t.equal(disabledLogged, c.want.disabledLogged, `${c.name}: reported disabled once`)
    if (c.want.disabled === true) t.match(api.health.disabled_reason, /^\d+ consecutive deliveries failed since 2026-12-05T08:00:00Z$/, `${c.name}: reason`)
  }
})

t.test('a cancelled delivery whose attempt would be retried, and an attempt whose lease was taken over, count nothing', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  const url = 'https://affiliate.example.org/pb'
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url })
  const cancelled = await insertDelivery(app, scene, { postbackId: postback.id, url, lockedBy: 'me', lockedUntil: LEASED })
  await app.db.updateTable('postback_deliveries').set({ state: 'cancelled' }).where('id', '=', cancelled).execute()
  const takenOver = await insertDelivery(app, scene, { postbackId: postback.id, url, lockedBy: 'someone-else', lockedUntil: LEASED })
  const health: HealthPolicy = { disableAfter: 1, disableMinAgeMs: 0, now: () => new Date() }
  const { disabled } = await recordAttempts(app.db, [
    { deliveryId: cancelled, holder: 'me', outcome: outcome(false), decision: { state: 'failed', retryInMs: null, keepCancelled: true } },
    { deliveryId: takenOver, holder: 'me', outcome: outcome(false), decision: DECISIONS.fail },
  ], health)
  t.same(disabled, [])
  const row = await app.db.selectFrom('postbacks').selectAll().where('id', '=', postback.id).executeTakeFirstOrThrow()
  t.match(row, { consecutive_failures: 0, last_failure_at: null, disabled_at: null })
})
