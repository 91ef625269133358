import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { ConversionRow, ConversionUpdate } from '../db/tables.js'
import { enqueueDeliveries } from '../affiliate-postbacks/enqueue.js'
import { formatAmountDb, parseAmount } from '../domain/money.js'
import { conflict, invalidInput } from '../domain/errors.js'
import { findConversion, holdPeriodDays, holdUntil, insertStatusEvent, updateConversionIf } from './repository.js'
import type { ConversionPatch } from './schemas.js'
import { REJECTED_BY_MANAGER } from '../domain/caps.js'
import { CHANGED, retryWhileChanged } from '../lib/compare-and-set.js'

const MAX_ROUNDS = 4

function exactAmount (value: number, field: string): string {
  const parsed = parseAmount(value)
  if (parsed === null) throw invalidInput(`${field} must be a non-negative amount with at most 4 decimals`, `/${field}`)
  return formatAmountDb(parsed)
}

/**
 * An admin's change: any status to any other (an `admin` event, in the same transaction, compare-and-set on
 * the status read), plus revenue, payout and comment. Undefined when the conversion does not exist.
 */
export async function patchConversion (db: Db, id: number, patch: ConversionPatch): Promise<ConversionRow | undefined> {
  const amounts: ConversionUpdate = {}
  if (patch.revenue !== undefined) amounts.revenue = exactAmount(patch.revenue, 'revenue')
  if (patch.payout !== undefined) amounts.payout = exactAmount(patch.payout, 'payout')
  if (patch.comment !== undefined) amounts.comment = patch.comment

  return retryWhileChanged(MAX_ROUNDS, async () => {
    const current = await findConversion(db, id)
    if (current === undefined) return undefined
    const to = patch.status !== undefined && patch.status !== current.status ? patch.status : null
    if (to === null && Object.keys(amounts).length === 0) return current
    const changes: ConversionUpdate = { ...amounts }
    if (to !== null) {
      changes.status = to
      changes.hold_until = to === 'hold' ? holdUntil(await holdPeriodDays(db, current.offer_id)) : null
      changes.decline_reason = to === 'declined' ? REJECTED_BY_MANAGER : null
    }
    const updated = await db.transaction().execute(async (trx) => {
      const row = await updateConversionIf(trx, id, current.status, changes)
      if (row === undefined || to === null) return row
      const eventId = await insertStatusEvent(trx, { conversionId: id, from: current.status, to, source: 'admin' })
      await enqueueDeliveries(trx, [{ id: eventId, conversionId: id }])
      return row
    })
    return updated ?? CHANGED
  }, () => conflict('The conversion kept changing while this change was applied; try again'))
}

/**
 * Approves conversions whose hold has run out, a batch at a time. `FOR UPDATE SKIP LOCKED` lets several
 * instances share the work, and the status condition in the UPDATE is the compare-and-set against a
 * concurrent change. Each approval is a `hold_expiry` event, with its deliveries in the same transaction.
 */
export async function approveDueHolds (db: Db, batchSize = 200): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const approved = await sql<{ id: number }>`
      update conversions set status = 'approved', hold_until = null, updated_at = now()
      where id in (
        select id from conversions
        where status = 'hold' and hold_until is not null and hold_until <= now()
        order by hold_until
        limit ${batchSize}
        for update skip locked)
      and status = 'hold'
      returning id`.execute(trx)
    if (approved.rows.length === 0) return 0
    const events = await trx.insertInto('conversion_events')
      .values(approved.rows.map((row) => ({
        conversion_id: row.id, kind: 'status_changed' as const, from_status: 'hold' as const, to_status: 'approved' as const, source: 'hold_expiry' as const,
      })))
      .returning(['id', 'conversion_id'])
      .execute()
    await enqueueDeliveries(trx, events.map((event) => ({ id: event.id, conversionId: event.conversion_id })))
    return approved.rows.length
  })
}
