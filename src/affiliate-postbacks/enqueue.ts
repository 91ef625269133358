import { sql, type RawBuilder, type Transaction } from 'kysely'
import type { ConversionEventRow, ConversionRow, Database, PostbackRow } from '../db/tables.js'
import { PREPARED } from '../db/database.js'
import { resolveFiringPostbacks, type FiringCandidate } from '../domain/firing.js'
import { postbackMacroValues, renderPostbackRequest } from '../domain/postback-render.js'
import { DELIVERIES_CHANNEL } from '../dispatch/channels.js'
import { CONTEXT_COLUMNS, conversionContext, type ContextRow } from './context.js'
import type { ConversionStatus } from '../domain/statuses.js'

/** The columns of a postback that firing and rendering need. */
const FIRING_POSTBACK_COLUMNS = ['id', 'affiliate_id', 'offer_id', 'url', 'method', 'status', 'goal', 'integration_method', 'force_global'] as const
/** `disabled`: endpoint health disabled it (§5.7); it still matches, and its deliveries are written `skipped`. */
export type FiringPostback = Pick<PostbackRow, (typeof FIRING_POSTBACK_COLUMNS)[number]> & { disabled: boolean }

type Candidate = FiringCandidate & { row: FiringPostback }

function toCandidate (row: FiringPostback): Candidate {
  return {
    id: row.id,
    offerId: row.offer_id,
    status: row.status,
    goal: row.goal,
    integrationMethod: row.integration_method,
    forceGlobal: row.force_global,
    row,
  }
}

/**
 * The postbacks that events of these affiliates on these offers may fire (each affiliate's global ones and
 * its ones on those offers), as a query for a transaction or a statement's CTE: the one place this rule is
 * written. FOR KEY SHARE holds off a concurrent delete until the transaction commits, so the delete's
 * cancelling sees the deliveries written meanwhile.
 */
export function firingPostbacks (affiliateIds: RawBuilder<unknown>, offerIds: RawBuilder<unknown>): RawBuilder<FiringPostback> {
  return sql<FiringPostback>`
    select ${sql.join(FIRING_POSTBACK_COLUMNS.map((name) => sql.ref(`p.${name}`)))}, p.disabled_at is not null as disabled
    from postbacks p
    where p.affiliate_id in (${affiliateIds}) and (p.offer_id is null or p.offer_id in (${offerIds}))
    order by p.id
    for key share of p`
}

/** An event whose deliveries are to be written: its id and its conversion's. */
export interface EnqueueEvent {
  id: number
  conversionId: number
}

/**
 * Writes the deliveries events fire, in the events' own transaction, rendered once (§5.3). Runs on the
 * intake hot path, so however many events there are it is three statements: the events with their
 * conversions, the affiliates' postbacks, and one insert that also sends the NOTIFY PostgreSQL delivers
 * at commit. The unique (event_id, postback_id) makes a second call for the same
 * event a no-op. Returns how many deliveries were written.
 */
export async function enqueueDeliveries (trx: Transaction<Database>, events: readonly EnqueueEvent[]): Promise<number> {
  if (events.length === 0) return 0
  const found = await trx
    .selectFrom('conversion_events as e')
    .innerJoin('conversions as c', 'c.id', 'e.conversion_id')
    .innerJoin('offers as o', 'o.id', 'c.offer_id')
    .select(['e.id as event_id', 'e.conversion_id as event_conversion_id', 'e.kind', 'e.to_status', ...CONTEXT_COLUMNS])
    .where('e.id', 'in', events.map((event) => event.id))
    .orderBy('e.id')
    .execute()
  const wanted = new Set(events.map((event) => `${event.id}:${event.conversionId}`))
  const rows = found.filter((row) => wanted.has(`${row.event_id}:${row.event_conversion_id}`))
  if (rows.length === 0) return 0
  const postbacks = await firingPostbacks(
    sql.join([...new Set(rows.map((row) => row.affiliate_id))]), sql.join([...new Set(rows.map((row) => row.offer_id))])
  ).execute(trx)
  return writeDeliveries(trx, rows, postbacks.rows)
}

/** An event with the conversion it concerns, as it stands after the event. */
export interface EventWithContext extends ContextRow {
  event_id: number
  kind: ConversionEventRow['kind']
  to_status: ConversionStatus
  integration_method: ConversionRow['integration_method']
}

/**
 * Fires `postbacks` (every postback of the events' affiliates that is global or on the events' offers,
 * read FOR KEY SHARE in this transaction) for the events: renders and inserts the deliveries, then NOTIFY.
 */
export async function writeDeliveries (
  trx: Transaction<Database>, rows: readonly EventWithContext[], postbacks: readonly FiringPostback[]
): Promise<number> {
  if (rows.length === 0 || postbacks.length === 0) return 0
  const byAffiliate = new Map<number, Candidate[]>()
  for (const postback of postbacks) {
    const own = byAffiliate.get(postback.affiliate_id) ?? []
    own.push(toCandidate(postback))
    byAffiliate.set(postback.affiliate_id, own)
  }

  const deliveries = rows.flatMap((row) => {
    const candidates = byAffiliate.get(row.affiliate_id) ?? []
    const firing = resolveFiringPostbacks(
      { kind: row.kind, status: row.to_status, goal: row.goal, integrationMethod: row.integration_method },
      candidates.filter((c) => c.offerId === row.offer_id),
      candidates.filter((c) => c.offerId === null)
    )
    if (firing.length === 0) return []
    const context = conversionContext(row, row.to_status)
    return firing.map(({ row: postback }) => {
      // Macro values per postback: `{rand}` is a fresh UUID in each.
      const rendered = renderPostbackRequest(postback.url, postback.method, postbackMacroValues(context))
      return {
        postbackId: postback.id,
        conversionId: row.id,
        eventId: row.event_id,
        affiliateId: row.affiliate_id,
        state: postback.disabled ? 'skipped' : 'pending',
        ...rendered,
      }
    })
  })
  if (deliveries.length === 0) return 0
  const column = <T>(pick: (delivery: (typeof deliveries)[number]) => T) => deliveries.map(pick)
  // One statement, one round trip: the insert (one array per column, so its text does not grow with the
  // batch) and, when anything is to be sent, the NOTIFY that PostgreSQL delivers at commit. A disabled
  // postback's delivery is written `skipped`, with nothing due: the log shows what it would have sent.
  const result = await sql<{ inserted: number }>`${PREPARED}
    with inserted as (
      insert into postback_deliveries (postback_id, conversion_id, event_id, affiliate_id, method, url, body, state, next_attempt_at)
      select postback_id, conversion_id, event_id, affiliate_id, method, url, body, state, case when state = 'pending' then now() end
      from unnest(
        ${column((d) => d.postbackId)}::int[], ${column((d) => d.conversionId)}::bigint[], ${column((d) => d.eventId)}::bigint[],
        ${column((d) => d.affiliateId)}::int[], ${column((d) => d.method)}::text[], ${column((d) => d.url)}::text[], ${column((d) => d.body)}::text[],
        ${column((d) => d.state)}::text[]
      ) as d(postback_id, conversion_id, event_id, affiliate_id, method, url, body, state)
      on conflict (event_id, postback_id) do nothing
      returning id, state),
    notified as (select pg_notify(${DELIVERIES_CHANNEL}, '') from (select from inserted where state = 'pending' limit 1) as any_pending)
    select (select count(*) from inserted)::int as inserted, (select count(*) from notified) as notified`.execute(trx)
  return result.rows[0]?.inserted ?? 0
}
