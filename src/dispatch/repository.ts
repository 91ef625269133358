import { sql, type Kysely } from 'kysely'
import type { Database, PostbackDeliveryRow } from '../db/tables.js'
import { PREPARED } from '../db/database.js'
import type { AttemptOutcome } from './sender.js'

type Executor = Kysely<Database>

/** A delivery as the dispatcher holds it while its lease runs. */
export interface ClaimedDelivery {
  id: number
  postback_id: number
  method: 'GET' | 'POST'
  url: string
  body: string | null
  attempts: number
  /** Set when the row was taken over from a holder whose lease expired (a crash, a stall). */
  previous_holder: string | null
  /** The affiliate's Standard Webhooks keys in force at the claim, newest first; null: unsigned. */
  signing_keys: string[] | null
  /** A redelivery: this attempt settles the delivery, delivered or failed, whatever the schedule has left. */
  final_attempt: boolean
}

/**
 * The receiver a URL points at (its authority, lower-cased), as the per-origin bound counts it. Cheap on
 * purpose: its SQL twin in `claim_postback_deliveries` (migrations) filters claims on it row by row.
 */
export function originKey (url: string): string {
  return (url.split('/', 3)[2] ?? '').toLowerCase()
}

/**
 * Joined into the dispatcher's own writes: their commit does not wait for the WAL flush. Losing one in
 * a database crash only means a lease that never was (the row is claimable again) or an attempt sent
 * again after the crash, which at-least-once delivery allows. Intake's writes stay fully durable.
 */
const ASYNC_COMMIT = sql`(select set_config('synchronous_commit', 'off', true)) as async_commit`

export interface ClaimOptions {
  holder: string
  leaseMs: number
  limit: number
  lane: 'first' | 'retry'
  /** Origins this instance already holds its share of: their rows wait for another pass. */
  skipOrigins: readonly string[]
}

/**
 * Takes due pending deliveries under a lease. SKIP LOCKED lets instances claim side by side without
 * waiting on each other; the lease (not the row lock, which ends with this statement) keeps a claimed
 * row from being claimed again, and an expired lease makes it claimable: that is the sweeper. The
 * statement lives in a database function whose plan is pinned to the due index (see its migration).
 */
export async function claimDue (db: Executor, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  const result = await sql<ClaimedDelivery>`${PREPARED}
    select c.* from claim_postback_deliveries(
      ${options.holder}, ${options.leaseMs}::int, ${options.limit}::int, ${options.lane === 'retry'}, ${[...options.skipOrigins]}::text[]
    ) c, ${ASYNC_COMMIT}`.execute(db)
  return result.rows
}

/** What the attempt decides for the delivery. */
export interface AttemptDecision {
  state: 'pending' | 'delivered' | 'failed'
  /** Only for `pending`: when to try again. */
  retryInMs: number | null
  /** A scheduled attempt leaves a cancelled delivery cancelled; a manual resend decides the state. */
  keepCancelled: boolean
}

/** One finished attempt to write. */
export interface AttemptRecord {
  deliveryId: number
  /** The lease holder that made the attempt. */
  holder: string
  outcome: AttemptOutcome
  decision: AttemptDecision
}

/** The attempt's number, and whether its holder still had the lease (else only log and count were written). */
export interface RecordResult {
  recorded: boolean
  n: number
}

/** When a failing postback is disabled (§5.7), and the clock its health is kept by. */
export interface HealthPolicy {
  /** POSTBACK_DISABLE_AFTER: consecutive failed deliveries... */
  disableAfter: number
  /** ...spanning at least this long (POSTBACK_DISABLE_MIN_AGE). */
  disableMinAgeMs: number
  now: () => Date
}

/** A postback that the recorded batch disabled, and why. */
export interface DisabledPostback {
  id: number
  reason: string
}

/**
 * Records attempts and applies their decisions, releasing the leases, in one statement (so one
 * transaction) for the whole batch: under load, attempts finishing together share a round trip. The
 * batch travels as one array per column to `record_postback_attempts` (its migration says why a function).
 * Guarded by the lease holder: a worker whose lease expired and was taken over only adds its attempt
 * to the log and the count, and leaves state and schedule to the new holder.
 *
 * The same statement keeps the endpoint health of the postbacks whose deliveries ended (§5.7): a delivery
 * that ends `failed` counts one failure, one that ends `delivered` resets the count, in the batch's order. A
 * postback reaching `disableAfter` consecutive failures over at least `disableMinAgeMs` is disabled; those are
 * returned, so the dispatcher can say so in its log.
 */
export async function recordAttempts (
  db: Executor, records: readonly AttemptRecord[], health: HealthPolicy
): Promise<{ results: Map<number, RecordResult>; disabled: DisabledPostback[] }> {
  const results = new Map<number, RecordResult>()
  if (records.length === 0) return { results, disabled: [] }
  const column = <T>(pick: (r: AttemptRecord) => T) => records.map(pick)
  const now = health.now()
  const ending = (r: AttemptRecord) => r.decision.state !== 'pending'
  // The run of failures once the batch's outcomes are applied to the postback row, and since when it runs.
  const failures = sql`(case when t.succeeded then 0 else p.consecutive_failures end + t.trailing_failures)`
  const since = sql`(case when t.trailing_failures = 0 then null::timestamptz
    when t.succeeded or p.consecutive_failures = 0 then ${now}::timestamptz else p.failing_since end)`
  const disabling = sql`(p.disabled_at is null and ${failures} >= ${health.disableAfter}::int
    and ${now}::timestamptz - ${since} >= ${health.disableMinAgeMs}::bigint * interval '1 millisecond')`
  // Each row carries the batch's disabled postbacks, so one statement answers both.
  const guarded = await sql<{ id: number; n: number; disabled: DisabledPostback[] | null }>`${PREPARED}
    with recorded as materialized (
      select r.* from record_postback_attempts(
        ${column((r) => r.deliveryId)}::bigint[], ${column((r) => r.holder)}::text[], ${column((r) => r.outcome.at.toISOString())}::timestamptz[],
        ${column((r) => r.outcome.httpCode)}::int[], ${column((r) => r.outcome.durationMs)}::int[], ${column((r) => r.outcome.responseBody)}::text[],
        ${column((r) => r.outcome.error)}::text[], ${column((r) => r.decision.state)}::text[], ${column((r) => r.decision.retryInMs)}::int[],
        ${column((r) => r.decision.keepCancelled)}::boolean[]
      ) r),
    -- Deliveries this batch ended, in batch order. The postback_deliveries row read here is the one before this
    -- statement: a cancelled delivery whose attempt would have been retried stays cancelled and ends nothing.
    ended as (
      select d.postback_id, i.state, i.ord
      from unnest(${column((r) => r.deliveryId)}::bigint[], ${column((r) => ending(r) ? r.decision.state : null)}::text[],
        ${column((r) => r.decision.keepCancelled)}::boolean[]) with ordinality as i(id, state, keep_cancelled, ord)
      join recorded on recorded.id = i.id
      join postback_deliveries d on d.id = i.id
      where i.state is not null and not (i.keep_cancelled and i.state = 'failed' and d.state = 'cancelled')),
    tally as (
      select e.postback_id, bool_or(e.state = 'delivered') as succeeded,
        count(*) filter (where e.state = 'failed') > 0 as failed,
        -- Failures after the batch's last success: what the run of failures holds once the batch is applied.
        count(*) filter (where e.state = 'failed' and e.ord > coalesce(s.last_success, 0))::int as trailing_failures
      from ended e
      join (select postback_id, max(ord) filter (where state = 'delivered') as last_success from ended group by 1) s using (postback_id)
      group by e.postback_id),
    -- Computed from the postback row being updated, not from a snapshot read earlier: two instances recording
    -- deliveries of one postback at once update it one after the other, the second from the first's result.
    kept as (
      update postbacks p set
        consecutive_failures = ${failures}, failing_since = ${since},
        last_success_at = case when t.succeeded then ${now}::timestamptz else p.last_success_at end,
        last_failure_at = case when t.failed then ${now}::timestamptz else p.last_failure_at end,
        disabled_at = case when ${disabling} then ${now}::timestamptz else p.disabled_at end,
        disabled_reason = case when ${disabling}
          then ${failures} || ' consecutive deliveries failed since ' || to_char(${since} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
          else p.disabled_reason end
      from tally t
      where p.id = t.postback_id
      returning p.id, p.disabled_at = ${now}::timestamptz as disabled_now, p.disabled_reason)
    select recorded.id, recorded.n,
      (select json_agg(json_build_object('id', k.id, 'reason', k.disabled_reason)) from kept k where k.disabled_now) as disabled
    from recorded, ${ASYNC_COMMIT}`.execute(db)
  for (const row of guarded.rows) results.set(Number(row.id), { recorded: true, n: row.n })
  const disabled = guarded.rows[0]?.disabled ?? []

  for (const lost of records.filter((r) => !results.has(r.deliveryId))) {
    const o = lost.outcome
    const counted = await sql<{ n: number }>`
      with updated as (
        update postback_deliveries set attempts = attempts + 1, updated_at = now() where id = ${lost.deliveryId} returning id, attempts
      )
      insert into postback_attempts (delivery_id, n, at, http_code, duration_ms, response_body, error)
      select id, attempts, ${o.at}::timestamptz, ${o.httpCode}::int, ${o.durationMs}::int, ${o.responseBody}::text, ${o.error}::text from updated
      returning n`.execute(db)
    results.set(lost.deliveryId, { recorded: false, n: counted.rows[0]?.n ?? 0 })
  }
  return { results, disabled }
}

/** Gives claims back (shutdown): another instance, or the next start, takes them at once. */
export async function releaseClaims (db: Executor, holder: string, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0
  const result = await db
    .updateTable('postback_deliveries')
    .set({ locked_until: null, locked_by: null })
    .where('id', 'in', ids)
    .where('locked_by', '=', holder)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Holders of live leases on pending deliveries whose id starts with `prefix` (this host's). */
export async function liveHoldersWithPrefix (db: Executor, prefix: string): Promise<string[]> {
  const rows = await sql<{ locked_by: string }>`
    select distinct locked_by from postback_deliveries
    where state = 'pending' and locked_until > now() and starts_with(locked_by, ${prefix})`.execute(db)
  return rows.rows.map((row) => row.locked_by)
}

/** Gives back every lease of these holders (processes known to be gone). */
export async function releaseHolders (db: Executor, holders: readonly string[]): Promise<number> {
  if (holders.length === 0) return 0
  const result = await db
    .updateTable('postback_deliveries')
    .set({ locked_until: null, locked_by: null })
    .where('locked_by', 'in', holders)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/**
 * Takes the lease on one delivery whatever its state (a manual resend). `busy` while another holder's
 * lease is live: an attempt is in flight or about to be.
 */
export async function leaseOne (
  db: Executor, deliveryId: number, holder: string, leaseMs: number
): Promise<PostbackDeliveryRow | 'missing' | 'busy'> {
  const result = await sql<PostbackDeliveryRow>`
    update postback_deliveries
    set locked_until = now() + ${leaseMs}::int * interval '1 millisecond', locked_by = ${holder}
    where id = ${deliveryId} and (locked_until is null or locked_until < now())
    returning *`.execute(db)
  const row = result.rows[0]
  if (row !== undefined) return row
  const exists = await db.selectFrom('postback_deliveries').select('id').where('id', '=', deliveryId).executeTakeFirst()
  return exists === undefined ? 'missing' : 'busy'
}

/** An affiliate's Standard Webhooks keys in force now, newest first (a manual resend signs like a claim). */
export async function signingKeysOf (db: Executor, affiliateId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('affiliate_signing_secrets')
    .select('secret')
    .where('affiliate_id', '=', affiliateId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .orderBy('id', 'desc')
    .execute()
  return rows.map((row) => row.secret)
}

/**
 * Claimed rows whose receiver asked for air: the lease goes back and the row waits until `untils` (per row),
 * its attempts untouched, so that waiting costs a delivery none of them.
 */
export async function deferClaims (db: Executor, holder: string, ids: readonly number[], untils: readonly Date[]): Promise<number> {
  if (ids.length === 0) return 0
  const result = await sql`
    update postback_deliveries d
    set next_attempt_at = greatest(d.next_attempt_at, i.until), locked_until = null, locked_by = null, updated_at = now()
    from unnest(${[...ids]}::bigint[], ${untils.map((u) => u.toISOString())}::timestamptz[]) as i(id, until)
    where d.id = i.id and d.locked_by = ${holder} and d.state = 'pending'`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

/** Holds an origin until `until` for every instance (a later hold wins); holds long over are dropped meanwhile. */
export async function holdOrigin (db: Executor, origin: string, until: Date): Promise<void> {
  await sql`
    insert into origin_holds (origin, held_until) values (${origin}, ${until.toISOString()}::timestamptz)
    on conflict (origin) do update set held_until = greatest(origin_holds.held_until, excluded.held_until)`.execute(db)
  await db.deleteFrom('origin_holds').where('held_until', '<', sql<Date>`now() - interval '1 hour'`).execute()
}

/** Origins held right now (by any instance), with until when. */
export async function liveOriginHolds (db: Executor): Promise<Map<string, number>> {
  const rows = await db.selectFrom('origin_holds').select(['origin', 'held_until']).where('held_until', '>', sql<Date>`now()`).execute()
  return new Map(rows.map((row) => [row.origin, new Date(row.held_until).getTime()]))
}
