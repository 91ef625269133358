import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { capPeriod, counterKeyText, type CounterKey } from '../domain/caps.js'
import { amountFromDb, formatAmountDb, type Amount } from '../domain/money.js'

/** A counter of one offer: which traffic (CounterKey) of which offer. */
export interface OfferCounterKey extends CounterKey {
  offerId: number
}

export function offerCounterText (key: OfferCounterKey): string {
  return `${key.offerId}|${counterKeyText(key)}`
}

function columns (keys: readonly OfferCounterKey[]) {
  return {
    offerIds: keys.map((k) => k.offerId),
    metrics: keys.map((k) => k.metric),
    periods: keys.map((k) => k.period),
    goals: keys.map((k) => k.goal),
    affiliateIds: keys.map((k) => k.affiliateId),
    starts: keys.map((k) => k.periodStart.toISOString()),
  }
}

/** Distinct keys in one fixed order, so that transactions locking several counters take them alike (no deadlock). */
function sortedDistinct (keys: readonly OfferCounterKey[]): OfferCounterKey[] {
  const byText = new Map(keys.map((key) => [offerCounterText(key), key]))
  return [...byText.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, key]) => key)
}

async function selectCounters (db: Db, keys: readonly OfferCounterKey[], lock: boolean): Promise<Map<string, Amount>> {
  const c = columns(keys)
  const rows = await sql<{ offer_id: number; metric: string; period: string; goal: string; affiliate_id: number; period_start: Date; used: string }>`
    select k.offer_id, k.metric, k.period, k.goal, k.affiliate_id, k.period_start, k.used
    from cap_counters k
    join unnest(${c.offerIds}::int[], ${c.metrics}::text[], ${c.periods}::text[], ${c.goals}::text[], ${c.affiliateIds}::int[],
      ${c.starts}::timestamptz[]) as w(offer_id, metric, period, goal, affiliate_id, period_start)
      on k.offer_id = w.offer_id and k.metric = w.metric and k.period = w.period and k.goal = w.goal
        and k.affiliate_id = w.affiliate_id and k.period_start = w.period_start
    order by k.offer_id, k.metric, k.period, k.goal, k.affiliate_id, k.period_start
    ${lock ? sql`for update of k` : sql``}`.execute(db)
  const found = new Map<string, Amount>()
  for (const row of rows.rows) {
    const key = { offerId: row.offer_id, metric: row.metric, period: row.period, goal: row.goal, affiliateId: row.affiliate_id, periodStart: new Date(row.period_start) } as OfferCounterKey
    found.set(offerCounterText(key), amountFromDb(row.used))
  }
  return found
}

/**
 * Locks the conversions and payout counters for the rest of the transaction and returns what they hold. A
 * counter not there yet is made first, holding what its cap would have counted so far: the conversions of
 * its period, created and not declined (the `created` event's status). Two transactions making the same
 * counter meet on its primary key: the second waits for the first and then finds it.
 */
export async function lockConversionCounters (trx: Db, wanted: readonly OfferCounterKey[]): Promise<Map<string, Amount>> {
  const keys = sortedDistinct(wanted)
  if (keys.length === 0) return new Map()
  const found = await selectCounters(trx, keys, true)
  const missing = keys.filter((key) => !found.has(offerCounterText(key)))
  if (missing.length === 0) return found
  const c = columns(missing)
  const ends = missing.map((key) => capPeriod(key.period, key.periodStart).end?.toISOString() ?? null)
  await sql`
    insert into cap_counters (offer_id, metric, period, goal, affiliate_id, period_start, used)
    select w.offer_id, w.metric, w.period, w.goal, w.affiliate_id, w.period_start, coalesce((
      select case when w.metric = 'payout' then sum(c.payout) else count(*) end
      from conversions c
      where c.offer_id = w.offer_id and c.created_at >= w.period_start and (w.period_end is null or c.created_at < w.period_end)
        and (w.goal = '' or lower(c.goal) = w.goal) and (w.affiliate_id = 0 or c.affiliate_id = w.affiliate_id)
        and exists (select 1 from conversion_events e where e.conversion_id = c.id and e.kind = 'created' and e.to_status <> 'declined')
    ), 0)
    from unnest(${c.offerIds}::int[], ${c.metrics}::text[], ${c.periods}::text[], ${c.goals}::text[], ${c.affiliateIds}::int[],
      ${c.starts}::timestamptz[], ${ends}::timestamptz[]) with ordinality as w(offer_id, metric, period, goal, affiliate_id, period_start, period_end, n)
    order by w.n
    on conflict do nothing`.execute(trx)
  for (const [text, used] of await selectCounters(trx, missing, true)) found.set(text, used)
  return found
}

/** Adds to counters (made when missing, from 0). */
export async function addToCounters (db: Db, increments: readonly { key: OfferCounterKey; amount: Amount }[]): Promise<void> {
  if (increments.length === 0) return
  const totals = new Map<string, { key: OfferCounterKey; amount: Amount }>()
  for (const inc of increments) {
    const text = offerCounterText(inc.key)
    const seen = totals.get(text)
    totals.set(text, { key: inc.key, amount: (seen?.amount ?? 0n) + inc.amount })
  }
  const sorted = [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
  const c = columns(sorted.map((v) => v.key))
  await sql`
    insert into cap_counters (offer_id, metric, period, goal, affiliate_id, period_start, used)
    select * from unnest(${c.offerIds}::int[], ${c.metrics}::text[], ${c.periods}::text[], ${c.goals}::text[], ${c.affiliateIds}::int[],
      ${c.starts}::timestamptz[], ${sorted.map((v) => formatAmountDb(v.amount))}::numeric[])
    on conflict (offer_id, metric, period, goal, affiliate_id, period_start) do update set used = cap_counters.used + excluded.used`.execute(db)
}

/** What the counters hold (absent counters are not in the map). */
export function readCounters (db: Db, keys: readonly OfferCounterKey[]): Promise<Map<string, Amount>> {
  return keys.length === 0 ? Promise.resolve(new Map()) : selectCounters(db, sortedDistinct(keys), false)
}

/** The offer's caps as stored, or undefined for an unknown offer. */
export function findOfferCaps (db: Db, offerId: number) {
  return db.selectFrom('offers').select(['id', 'caps']).where('id', '=', offerId).executeTakeFirst()
}
