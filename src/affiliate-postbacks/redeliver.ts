import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { DELIVERIES_CHANNEL } from '../dispatch/channels.js'
import { ruleViolation } from '../domain/errors.js'
import type { PostbackRedeliverRequest } from './delivery-schemas.js'

/** Rows made pending per statement: each batch is its own short transaction, whatever the window holds. */
export const REDELIVERY_BATCH = 2_000

export interface RedeliveryWindow {
  postbackId: number
  state: 'failed' | 'cancelled'
  since: Date
  until: Date
}

/**
 * One batch of a redelivery: the next `limit` rows of the postback in `state` after `afterId` (id order, along
 * the postback index), those created in the window made pending again for one final attempt, due now. A row
 * whose manual resend is in flight (a live lease) is left alone: it is being sent already. Dispatchers are woken.
 */
export async function redeliverBatch (
  db: Db, window: RedeliveryWindow, afterId: number, limit: number
): Promise<{ queued: number; lastId: number | null }> {
  const result = await sql<{ last_id: string | null; queued: string }>`
    with batch as (
      select id from postback_deliveries
      where postback_id = ${window.postbackId} and state = ${window.state} and id > ${afterId}
      order by id limit ${limit}
    ), queued as (
      update postback_deliveries d
      set state = 'pending', next_attempt_at = now(), final_attempt = true, locked_until = null, locked_by = null, updated_at = now()
      from batch
      where d.id = batch.id and d.state = ${window.state}
        and d.created_at >= ${window.since.toISOString()}::timestamptz and d.created_at < ${window.until.toISOString()}::timestamptz
        and (d.locked_until is null or d.locked_until < now())
      returning d.id
    ), notified as (
      select pg_notify(${DELIVERIES_CHANNEL}, '') from (select from queued limit 1) as any_queued
    )
    select (select max(id) from batch) as last_id, (select count(*) from queued) as queued, (select count(*) from notified) as woken`.execute(db)
  const row = result.rows[0]
  return { queued: Number(row?.queued ?? 0), lastId: row?.last_id == null ? null : Number(row.last_id) }
}

/**
 * Every delivery of the window gets one more attempt through the normal queue, batch by batch, so a window of a
 * million rows never holds one long transaction or lock. The rows join the retry lane, which the dispatcher
 * caps at half its slots behind first attempts, and the per-receiver fairness of every delivery.
 */
export async function redeliver (db: Db, window: RedeliveryWindow, batchSize = REDELIVERY_BATCH): Promise<number> {
  let queued = 0
  let afterId = 0
  for (;;) {
    const batch = await redeliverBatch(db, window, afterId, batchSize)
    queued += batch.queued
    if (batch.lastId === null) return queued
    afterId = batch.lastId
  }
}

/** The window a request names; `until` defaults to now and must come after `since` (422). */
export function redeliveryWindow (postbackId: number, body: PostbackRedeliverRequest, now = new Date()): RedeliveryWindow {
  const since = new Date(body.since)
  const until = body.until === undefined ? now : new Date(body.until)
  if (until.getTime() <= since.getTime()) throw ruleViolation('until must be after since', body.until === undefined ? '/since' : '/until')
  return { postbackId, state: body.state, since, until }
}
