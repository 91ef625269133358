import { sql } from 'kysely'
import { PREPARED, type Db } from '../db/database.js'
import type { ClickRow, ConversionRow, ConversionsTable, ConversionEventsTable, Database } from '../db/tables.js'
import { amountFromDb, formatAmountDb } from '../domain/money.js'
import type { GoalTerms } from '../domain/payout.js'
import { firingPostbacks, type FiringPostback } from '../affiliate-postbacks/enqueue.js'
import type { Updateable, Transaction } from 'kysely'
import type { ConversionStatus, AffiliateStatus, OfferStatus } from '../domain/statuses.js'
import { clickIdTime } from '../domain/click-ids.js'
import { capsFromStored, clickSessionSeconds, MAX_CLICK_SESSION_S, type Cap, type DeclineReason } from '../domain/caps.js'
import type { CapContext, CapPlan } from '../caps/conversion-caps.js'

export type Trx = Transaction<Database>
type Executor = Db | Trx

/** What the intake needs to judge a postback on an offer: its rules, its goals and the secure code in force. */
export interface IntakeOffer {
  id: number
  status: OfferStatus
  currency: string
  default_conversion_status: 'approved' | 'pending' | 'hold'
  allow_duplicate_conversions: boolean
  probabilistic_attribution: boolean
  hold_period_days: number
  /** The offer's code, else its advertiser's; null when none applies. */
  secure_code: string | null
  goals: (GoalTerms & { value: string })[]
  click_session_seconds: number
  caps: Cap[]
}

export async function findIntakeOffer (db: Executor, offerId: number): Promise<IntakeOffer | undefined> {
  const offer = await db.selectFrom('offers as o')
    .innerJoin('advertisers as a', 'a.id', 'o.advertiser_id')
    .select([
      'o.id', 'o.status', 'o.currency', 'o.default_conversion_status', 'o.allow_duplicate_conversions',
      'o.probabilistic_attribution', 'o.hold_period_days', 'o.click_session', 'o.caps',
      sql<string | null>`coalesce(o.secure_code, a.secure_code)`.as('secure_code'),
    ])
    .where('o.id', '=', offerId)
    .executeTakeFirst()
  if (offer === undefined) return undefined
  const { click_session: clickSession, caps, ...rules } = offer
  const goals = await db.selectFrom('offer_goals').select(['value', 'type', 'revenue', 'payout'])
    .where('offer_id', '=', offerId).orderBy('position').execute()
  return {
    ...rules,
    // The column's CHECK admits only what clickSessionSeconds reads.
    click_session_seconds: clickSessionSeconds(clickSession) ?? MAX_CLICK_SESSION_S,
    caps: capsFromStored(caps),
    goals: goals.map((goal) => ({ value: goal.value, type: goal.type, revenue: amountFromDb(goal.revenue), payout: amountFromDb(goal.payout) })),
  }
}

export interface StoredClick {
  click: ClickRow
  /** The catalog version read in the same statement (see intake/cache.ts). */
  catalogVersion: number
}

/** The stored clicks among these ids, each with the catalog version read in the same statement. */
export async function findClicksWithCatalogVersion (db: Executor, clickids: readonly string[]): Promise<Map<string, StoredClick>> {
  // Each id is looked for within the second it names (contract §1): one partition's primary key per id.
  const ids: string[] = []
  const seconds: string[] = []
  for (const id of clickids) {
    const second = clickIdTime(id)
    if (second === null) continue
    ids.push(id)
    seconds.push(second.toISOString())
  }
  const result = await sql<ClickRow & { catalog_version: number }>`
    select c.*, (select version from intake_catalog_version where id = 1) as catalog_version
    from unnest(${ids}::text[], ${seconds}::timestamptz[]) as wanted(clickid, second)
    join clicks c on c.clickid = wanted.clickid and c.created_at >= wanted.second and c.created_at < wanted.second + interval '1 second'`.execute(db)
  const found = new Map<string, StoredClick>()
  for (const { catalog_version: catalogVersion, ...click } of result.rows) found.set(click.clickid, { click, catalogVersion: Number(catalogVersion) })
  return found
}

export async function findAffiliateStatus (db: Executor, affiliateId: number): Promise<AffiliateStatus | undefined> {
  const row = await db.selectFrom('affiliates').select('status').where('id', '=', affiliateId).executeTakeFirst()
  return row?.status
}

/** The conversion holding a uniqueness key: (offer, goal, action_id) or (offer, goal, click id). */
export function findConversionByKey (
  db: Executor,
  key: { offerId: number; goal: string } & ({ actionId: string } | { clickDedupKey: string })
): Promise<ConversionRow | undefined> {
  let q = db.selectFrom('conversions').selectAll()
    .where('offer_id', '=', key.offerId)
    .where(sql<string>`lower(goal)`, '=', key.goal.toLowerCase())
  q = 'actionId' in key ? q.where('action_id', '=', key.actionId) : q.where('click_dedup_key', '=', key.clickDedupKey)
  return q.executeTakeFirst()
}

export function findConversion (db: Executor, id: number): Promise<ConversionRow | undefined> {
  return db.selectFrom('conversions').selectAll().where('id', '=', id).executeTakeFirst()
}

export interface ServerPostbackEntry {
  method: string
  params: Record<string, string>
  offerId: number | null
  clickid: string | null
}

export interface ServerPostbackResult {
  result: 'accepted' | 'rejected'
  httpStatus: number
  detail: string | null
  conversionId: number | null
}

export async function insertServerPostback (db: Executor, entry: ServerPostbackEntry, outcome: ServerPostbackResult): Promise<void> {
  await db.insertInto('server_postbacks').values({
    method: entry.method,
    params: JSON.stringify(entry.params),
    result: outcome.result,
    http_status: outcome.httpStatus,
    detail: outcome.detail,
    conversion_id: outcome.conversionId,
    offer_id: entry.offerId,
    clickid: entry.clickid,
  }).execute()
}

/** A conversion ready to insert: JSON columns as text, money as numeric(18,4) text. */
export interface NewConversion {
  clickid: string | null
  offer_id: number
  affiliate_id: number
  goal: string
  action_id: string | null
  click_dedup_key: string | null
  status: ConversionStatus
  integration_method: 'default' | 'probabilistic'
  sum: string | null
  revenue: string
  payout: string
  currency: string
  order_currency: string | null
  ip: string | null
  user_agent: string | null
  comment: string | null
  custom_fields: string
  country: string | null
  click_params: string
  click_created_at: Date | null
  hold_until: Date | null
  /** Set when the conversion is created declined: by a cap, the click session, or the advertiser's status. */
  decline_reason: DeclineReason | null
  /** On the service's clock, as clicks are: cap periods and click sessions are judged on that clock too. */
  created_at: Date
}

export interface NewConversionEntry {
  values: NewConversion
  log: ServerPostbackEntry
  /** The offer's caps and the time their periods are read at; judged in the transaction that writes it. */
  caps?: CapContext | undefined
}

export interface CreatedConversion {
  conversion: ConversionRow
  eventId: number
  /** The offer's title, which postbacks render as `{offer_name}`. */
  offerTitle: string
}

/** Identifies a conversion by the uniqueness key it would hold; null when none applies (duplicates allowed). */
export function conversionKey (row: { offer_id: number; goal: string; action_id: string | null; click_dedup_key: string | null }): string | null {
  if (row.action_id !== null) return `${row.offer_id}\u0000${row.goal.toLowerCase()}\u0000a\u0000${row.action_id}`
  if (row.click_dedup_key !== null) return `${row.offer_id}\u0000${row.goal.toLowerCase()}\u0000c\u0000${row.click_dedup_key}`
  return null
}

/**
 * Every column of a conversion, named: the batch insert is a prepared statement, and PostgreSQL refuses to
 * run a prepared statement whose result changed shape, as `returning *` would the moment a newer
 * instance's migration adds a column while this one runs.
 */
const CONVERSION_COLUMNS = [
  'id', 'clickid', 'offer_id', 'affiliate_id', 'goal', 'action_id', 'click_dedup_key', 'status', 'integration_method', 'sum',
  'revenue', 'payout', 'currency', 'order_currency', 'ip', 'user_agent', 'comment', 'custom_fields', 'country', 'click_params',
  'click_created_at', 'hold_until', 'decline_reason', 'created_at', 'updated_at',
] as const satisfies readonly (keyof ConversionRow)[]
// A column added to ConversionRow but not to the list fails to compile here.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a check at compile time, never read
const everyConversionColumn: Exclude<keyof ConversionRow, (typeof CONVERSION_COLUMNS)[number]> extends never ? true : never = true

function column<T> (entries: readonly NewConversionEntry[], pick: (entry: NewConversionEntry) => T): T[] {
  return entries.map(pick)
}

/**
 * Inserts conversions, each with its `created` event and its server-postback log entry, in one statement,
 * which also reads (and locks) the postbacks they may fire.
 * A conversion whose uniqueness key already holds is skipped (the caller re-reads and re-judges it). The
 * entries must hold distinct keys (or none): the result is matched back to them by key, undefined when skipped.
 *
 * With a plan of caps (planConversionCaps), the same statement first locks the plan's counters (in one fixed
 * order, as lockConversionCounters does, so batches cannot deadlock) and reads them at their latest committed
 * values; only when every counter exists and holds its total (used + total <= limit) does it insert the
 * batch, and it then adds to the counters what the conversions actually created add. Otherwise it inserts
 * nothing (`capsHeld` false), and the counters stay locked for the caller to judge the batch one by one.
 */
export async function insertConversions (
  trx: Trx, entries: readonly NewConversionEntry[], plan?: CapPlan
): Promise<{ created: (CreatedConversion | undefined)[]; postbacks: FiringPostback[]; capsHeld: boolean }> {
  const v = (pick: (values: NewConversion) => unknown) => column(entries, (entry) => pick(entry.values))
  const date = (value: Date | null) => (value === null ? null : value.toISOString())
  const counters = plan?.counters ?? []
  const increments = plan?.increments ?? []
  // The counters' CTEs: only in the statement of a batch with a plan, so a batch without caps runs the very
  // statement it always did. Both texts are fixed (arrays as parameters), each prepared once per connection.
  const capped = plan !== undefined
  const counterCtes = capped
    ? sql`
    w as materialized (
      select * from unnest(${counters.map((c) => c.key.offerId)}::int[], ${counters.map((c) => c.key.metric)}::text[],
        ${counters.map((c) => c.key.period)}::text[], ${counters.map((c) => c.key.goal)}::text[],
        ${counters.map((c) => c.key.affiliateId)}::int[], ${counters.map((c) => c.key.periodStart.toISOString())}::timestamptz[],
        ${counters.map((c) => formatAmountDb(c.limit))}::numeric[], ${counters.map((c) => formatAmountDb(c.total))}::numeric[])
      with ordinality as w(offer_id, metric, period, goal, affiliate_id, period_start, cap_limit, total, m)),
    -- FOR UPDATE waits for a transaction holding a counter and then reads what it committed.
    locked as materialized (
      select k.used, w.cap_limit, w.total
      from cap_counters k
      join w on k.offer_id = w.offer_id and k.metric = w.metric and k.period = w.period and k.goal = w.goal
        and k.affiliate_id = w.affiliate_id and k.period_start = w.period_start
      order by k.offer_id, k.metric, k.period, k.goal, k.affiliate_id, k.period_start
      for update of k),
    -- A counter missing (never made, or dropped with its cap) is made by the caller, from the conversions so far.
    caps_check as materialized (
      select count(*) = (select count(*) from w) and coalesce(bool_and(used + total <= cap_limit), false) as caps_held from locked),`
    : sql``
  const result = await sql<ConversionRow & { event_id: number; offer_title: string; postbacks: FiringPostback[]; caps_held?: boolean }>`${PREPARED}
    with ${counterCtes} input as (
      select * from unnest(
        ${v((c) => c.clickid)}::text[], ${v((c) => c.offer_id)}::int[], ${v((c) => c.affiliate_id)}::int[], ${v((c) => c.goal)}::text[],
        ${v((c) => c.action_id)}::text[], ${v((c) => c.click_dedup_key)}::text[], ${v((c) => c.status)}::text[],
        ${v((c) => c.integration_method)}::text[], ${v((c) => c.sum)}::numeric[], ${v((c) => c.revenue)}::numeric[],
        ${v((c) => c.payout)}::numeric[], ${v((c) => c.currency)}::text[], ${v((c) => c.order_currency)}::text[], ${v((c) => c.ip)}::text[],
        ${v((c) => c.user_agent)}::text[], ${v((c) => c.comment)}::text[], ${v((c) => c.custom_fields)}::jsonb[], ${v((c) => c.country)}::text[],
        ${v((c) => c.click_params)}::jsonb[], ${v((c) => date(c.click_created_at))}::timestamptz[], ${v((c) => date(c.hold_until))}::timestamptz[],
        ${v((c) => c.decline_reason)}::text[], ${v((c) => c.created_at.toISOString())}::timestamptz[], ${column(entries, (e) => e.log.method)}::text[], ${column(entries, (e) => JSON.stringify(e.log.params))}::jsonb[],
        ${column(entries, (e) => e.log.clickid)}::text[])
      with ordinality as i(clickid, offer_id, affiliate_id, goal, action_id, click_dedup_key, status, integration_method, sum, revenue,
        payout, currency, order_currency, ip, user_agent, comment, custom_fields, country, click_params, click_created_at, hold_until,
        decline_reason, created_at, log_method, log_params, log_clickid, n)),
    c as (
      insert into conversions (clickid, offer_id, affiliate_id, goal, action_id, click_dedup_key, status, integration_method,
        sum, revenue, payout, currency, order_currency, ip, user_agent, comment, custom_fields, country, click_params,
        click_created_at, hold_until, decline_reason, created_at, updated_at)
      select clickid, offer_id, affiliate_id, goal, action_id, click_dedup_key, status, integration_method, sum, revenue, payout,
        currency, order_currency, ip, user_agent, comment, custom_fields, country, click_params, click_created_at, hold_until,
        decline_reason, created_at, created_at
      from input ${capped ? sql`where (select caps_held from caps_check)` : sql``} order by n
      on conflict do nothing
      returning ${sql.join(CONVERSION_COLUMNS.map((name) => sql.ref(name)))}),
    e as (
      insert into conversion_events (conversion_id, kind, from_status, to_status, source)
      select id, 'created', null, status, 'advertiser' from c
      returning id, conversion_id),
    l as (
      insert into server_postbacks (method, params, result, http_status, detail, conversion_id, offer_id, clickid)
      -- A conversion created declined by a rule of the offer says why in the log.
      select i.log_method, i.log_params, 'accepted', 200, c.decline_reason, c.id, c.offer_id, i.log_clickid
      from c join input i on i.offer_id = c.offer_id and lower(i.goal) = lower(c.goal)
        and i.action_id is not distinct from c.action_id and i.click_dedup_key is not distinct from c.click_dedup_key),${capped
      ? sql`
    -- What the conversions created add (a skipped duplicate adds nothing), to counters this statement holds locked.
    counted as (
      insert into cap_counters (offer_id, metric, period, goal, affiliate_id, period_start, used)
      select w.offer_id, w.metric, w.period, w.goal, w.affiliate_id, w.period_start, sum(x.amount)
      from unnest(${increments.map((inc) => inc.entry + 1)}::int8[], ${increments.map((inc) => inc.counter + 1)}::int8[],
        ${increments.map((inc) => formatAmountDb(inc.amount))}::numeric[]) as x(n, m, amount)
      join input i on i.n = x.n
      join c on i.offer_id = c.offer_id and lower(i.goal) = lower(c.goal)
        and i.action_id is not distinct from c.action_id and i.click_dedup_key is not distinct from c.click_dedup_key
      join w on w.m = x.m
      group by w.m, w.offer_id, w.metric, w.period, w.goal, w.affiliate_id, w.period_start
      order by w.m
      on conflict (offer_id, metric, period, goal, affiliate_id, period_start) do update set used = cap_counters.used + excluded.used),`
      : sql``}
    -- The postbacks the new conversions may fire, read (and locked) in the same statement: one round trip less per batch.
    pb as materialized (${firingPostbacks(sql`select affiliate_id from input`, sql`select offer_id from input`)})
    select ${sql.join(CONVERSION_COLUMNS.map((name) => sql.ref(`c.${name}`)))}, e.id as event_id, o.title as offer_title,
      (select coalesce(jsonb_agg(to_jsonb(pb) order by pb.id), '[]'::jsonb) from pb) as postbacks${capped
      ? sql`, h.caps_held
    -- One row even when nothing was created, to say whether the caps held.
    from caps_check h left join (c join e on e.conversion_id = c.id join offers o on o.id = c.offer_id) on true`
      : sql`
    from c join e on e.conversion_id = c.id join offers o on o.id = c.offer_id`}`.execute(trx)
  const rows = capped ? result.rows.filter((row) => row.id !== null) : result.rows
  const postbacks = result.rows[0]?.postbacks ?? []
  const capsHeld = !capped || result.rows[0]?.caps_held === true
  const created = new Map<string | null, CreatedConversion>()
  for (const { event_id: eventId, offer_title: offerTitle, postbacks: _postbacks, caps_held: _capsHeld, ...conversion } of rows) {
    created.set(conversionKey(conversion), { conversion, eventId, offerTitle })
  }
  if (entries.length === 1) {
    const only = rows[0]
    if (only === undefined) return { created: [undefined], postbacks, capsHeld }
    const { event_id: eventId, offer_title: offerTitle, postbacks: _postbacks, caps_held: _capsHeld, ...conversion } = only
    return { created: [{ conversion, eventId, offerTitle }], postbacks, capsHeld }
  }
  return { created: entries.map((entry) => created.get(conversionKey(entry.values))), postbacks, capsHeld }
}

/**
 * Compare-and-set: applies the change only while the conversion still has `expected` status. Returns the
 * new row, or undefined when another change won (the caller re-reads and re-judges).
 */
export function updateConversionIf (
  trx: Trx,
  id: number,
  expected: ConversionStatus,
  changes: Updateable<ConversionsTable>
): Promise<ConversionRow | undefined> {
  return trx.updateTable('conversions')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', expected)
    .returningAll()
    .executeTakeFirst()
}

export async function insertStatusEvent (
  trx: Trx,
  event: { conversionId: number; from: ConversionStatus; to: ConversionStatus; source: ConversionEventsTable['source'] }
): Promise<number> {
  const row = await trx.insertInto('conversion_events').values({
    conversion_id: event.conversionId, kind: 'status_changed', from_status: event.from, to_status: event.to, source: event.source,
  }).returning('id').executeTakeFirstOrThrow()
  return row.id
}

export function holdPeriodDays (db: Executor, offerId: number): Promise<number | undefined> {
  return db.selectFrom('offers').select('hold_period_days').where('id', '=', offerId).executeTakeFirst().then((row) => row?.hold_period_days)
}

/** `hold_until` for a conversion entering hold now, or null when the offer holds indefinitely. */
export function holdUntil (periodDays: number | undefined, now: Date = new Date()): Date | null {
  if (periodDays === undefined || periodDays <= 0) return null
  return new Date(now.getTime() + periodDays * 86_400_000)
}
