import { sql, type Transaction } from 'kysely'
import type { Database, PostbackRow } from '../db/tables.js'
import { resolveFiringPostbacks, type FiringCandidate } from '../domain/firing.js'
import { postbackMacroValues, renderPostbackRequest } from '../domain/postback-render.js'
import { CONTEXT_COLUMNS, conversionContext } from './context.js'

/** The channel every instance's dispatcher LISTENs on; a notification means "new work is due". */
export const DELIVERIES_CHANNEL = 's2s_deliveries'

type Candidate = FiringCandidate & { row: PostbackRow }

function toCandidate(row: PostbackRow): Candidate {
  return {
    id: row.id, offerId: row.offer_id, status: row.status, goal: row.goal,
    integrationMethod: row.integration_method, forceGlobal: row.force_global, row,
  }
}

/**
 * Writes the deliveries an event fires, in the event's own transaction, rendered once (§5.3). Runs on
 * the intake hot path, so it is four statements: the event with its conversion, the affiliate's
 * postbacks, one multi-row insert, and a NOTIFY that PostgreSQL delivers at commit. The unique
 * (event_id, postback_id) makes a second call for the same event a no-op. Returns how many were written.
 */
export async function enqueueDeliveries(trx: Transaction<Database>, event: { id: number; conversionId: number }): Promise<number> {
  const found = await trx
    .selectFrom('conversion_events as e')
    .innerJoin('conversions as c', 'c.id', 'e.conversion_id')
    .innerJoin('offers as o', 'o.id', 'c.offer_id')
    .select(['e.kind', 'e.to_status', ...CONTEXT_COLUMNS])
    .where('e.id', '=', event.id)
    .where('e.conversion_id', '=', event.conversionId)
    .executeTakeFirst()
  if (found === undefined) return 0

  const postbacks = await trx
    .selectFrom('postbacks')
    .selectAll()
    .where('affiliate_id', '=', found.affiliate_id)
    .where((eb) => eb.or([eb('offer_id', '=', found.offer_id), eb('offer_id', 'is', null)]))
    .orderBy('id')
    // Holds off a concurrent delete until this transaction commits, so its cancelling sees our deliveries.
    .forKeyShare()
    .execute()
  const candidates = postbacks.map(toCandidate)
  const firing = resolveFiringPostbacks(
    { kind: found.kind, status: found.to_status, goal: found.goal, integrationMethod: found.integration_method },
    candidates.filter((c) => c.offerId !== null),
    candidates.filter((c) => c.offerId === null),
  )
  if (firing.length === 0) return 0

  const context = conversionContext(found, found.to_status)
  const rows = firing.map(({ row }) => {
    // Macro values per postback: `{rand}` is a fresh UUID in each.
    const rendered = renderPostbackRequest(row.url, row.method, postbackMacroValues(context))
    return {
      postback_id: row.id, conversion_id: found.id, event_id: event.id, affiliate_id: found.affiliate_id,
      method: rendered.method, url: rendered.url, body: rendered.body, state: 'pending' as const,
      next_attempt_at: sql<Date>`now()`,
    }
  })
  const inserted = await trx
    .insertInto('postback_deliveries')
    .values(rows)
    .onConflict((oc) => oc.columns(['event_id', 'postback_id']).doNothing())
    .returning('id')
    .execute()
  if (inserted.length > 0) await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(trx)
  return inserted.length
}
