import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CapMetric, CapPeriod, DeclineReason } from '../domain/caps.js'
import type { AdvertiserStatus, AffiliateStatus, ConversionStatus, DeliveryState, OfferStatus } from '../domain/statuses.js'

// One interface per table. Money columns are numeric(18,4) and travel as strings ("30.0000"):
// convert with src/domain/money.ts, never with parseFloat.
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type Numeric = ColumnType<string, string, string>
/** A NOT NULL column with a database default: optional on insert. */
type Default<T> = ColumnType<T, T | undefined, T>
type JsonDefault<T> = ColumnType<T, string | undefined, string>
/** The transaction that last wrote the row (xid8 as text), set by a trigger (migration 12-03): the click replica follows it. */
type ChangeXid = ColumnType<string, never, never>

export interface AdminApiKeysTable {
  id: Generated<number>
  key_hash: string
  created_at: CreatedAt
}

export interface AdvertisersTable {
  id: Generated<number>
  name: string
  status: Default<AdvertiserStatus>
  secure_code: string | null
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface TrackingDomainsTable {
  id: Generated<number>
  hostname: string
  allow_http: Default<boolean>
  allow_https: Default<boolean>
  is_default: Default<boolean>
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface OffersTable {
  id: Generated<number>
  advertiser_id: number
  title: string
  url: string
  trafficback_url: string | null
  status: Default<OfferStatus>
  tracking_domain_id: number | null
  currency: Default<string>
  default_conversion_status: Default<'approved' | 'pending' | 'hold'>
  allow_duplicate_conversions: Default<boolean>
  probabilistic_attribution: Default<boolean>
  secure_code: string | null
  hold_period_days: Default<number>
  /** `12h`, `30d`: how long after its click a conversion is attributed (contract §4.4). */
  click_session: Default<string>
  /** The offer's caps as stored (see src/offers/caps.ts); JSON text on insert and update. */
  caps: JsonDefault<StoredCap[]>
  created_at: CreatedAt
  updated_at: Timestamp
  change_xid: ChangeXid
}

/** A cap in the offers.caps column: `limit` a JSON number (a count, or an amount for payout caps). */
export interface StoredCap {
  metric: CapMetric
  period: CapPeriod
  limit: number
  per_affiliate: boolean
  affiliate_id: number | null
  goal: string | null
}

/** What one cap has counted in one period (contract §4.4); goal '' is every goal, affiliate_id 0 all affiliates. */
export interface CapCountersTable {
  offer_id: number
  metric: CapMetric
  period: CapPeriod
  goal: string
  affiliate_id: number
  period_start: Date
  used: Numeric
}

export interface OfferGoalsTable {
  offer_id: number
  position: number
  value: string
  title: string
  type: 'fixed' | 'percent'
  revenue: Numeric
  payout: Numeric
}

export interface AffiliatesTable {
  id: Generated<number>
  name: string
  email: string
  status: Default<AffiliateStatus>
  api_key_hash: string
  created_at: CreatedAt
  updated_at: Timestamp
  change_xid: ChangeXid
}

export interface TrackingLinksTable {
  id: Generated<number>
  offer_id: number
  affiliate_id: number
  tracking_domain_id: number | null
  use_ssl: boolean
  params: JsonDefault<Record<string, string>>
  params_key: string
  url: string
  short_code: string | null
  sent_at: Date | null
  created_at: CreatedAt
  change_xid: ChangeXid
}

export interface ClicksTable {
  clickid: string
  offer_id: number
  affiliate_id: number
  tracking_link_id: number | null
  params: JsonDefault<Record<string, string>>
  ip: string
  user_agent: Default<string>
  referrer: string | null
  created_at: Date
}

export interface ConversionsTable {
  id: Generated<number>
  clickid: string | null
  offer_id: number
  affiliate_id: number
  goal: string
  action_id: string | null
  click_dedup_key: string | null
  status: ConversionStatus
  integration_method: Default<'default' | 'probabilistic'>
  sum: Numeric | null
  revenue: Numeric
  payout: Numeric
  currency: string
  order_currency: string | null
  ip: string | null
  user_agent: string | null
  comment: string | null
  custom_fields: JsonDefault<Record<string, string>>
  country: string | null
  click_params: JsonDefault<Record<string, string>>
  click_created_at: Date | null
  hold_until: Date | null
  decline_reason: DeclineReason | null
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface ConversionEventsTable {
  id: Generated<number>
  conversion_id: number
  kind: 'created' | 'status_changed'
  from_status: ConversionStatus | null
  to_status: ConversionStatus
  source: 'advertiser' | 'admin' | 'hold_expiry'
  created_at: CreatedAt
}

export interface ServerPostbacksTable {
  id: Generated<number>
  received_at: CreatedAt
  method: string
  params: JsonDefault<Record<string, string>>
  result: 'accepted' | 'rejected'
  http_status: number
  detail: string | null
  conversion_id: number | null
  offer_id: number | null
  clickid: string | null
}

export interface PostbacksTable {
  id: Generated<number>
  affiliate_id: number
  offer_id: number | null
  url: string
  method: Default<'GET' | 'POST'>
  status: Default<'any' | 'created' | 'approved' | 'pending' | 'declined' | 'hold'>
  goal: string | null
  integration_method: Default<'all' | 'default' | 'probabilistic'>
  force_global: Default<boolean>
  created_at: CreatedAt
  updated_at: Timestamp
  /** Endpoint health (§5.7), kept by the dispatcher as deliveries end. */
  consecutive_failures: Default<number>
  failing_since: Date | null
  last_success_at: Date | null
  last_failure_at: Date | null
  /** Set: the postback fires nothing new (its events write `skipped` deliveries). */
  disabled_at: Date | null
  disabled_reason: string | null
}

export interface PostbackDeliveriesTable {
  id: Generated<number>
  postback_id: number
  conversion_id: number
  event_id: number
  affiliate_id: number
  method: 'GET' | 'POST'
  url: string
  body: string | null
  state: Default<DeliveryState>
  attempts: Generated<number>
  last_http_code: number | null
  last_error: string | null
  next_attempt_at: Date | null
  locked_until: Date | null
  locked_by: string | null
  created_at: CreatedAt
  updated_at: Timestamp
  delivered_at: Date | null
  /** Pending again by a redelivery: the next attempt is its last. */
  final_attempt: Default<boolean>
}

export interface PostbackAttemptsTable {
  id: Generated<number>
  delivery_id: number
  n: number
  at: Date
  http_code: number | null
  duration_ms: number
  response_body: string
  error: string | null
}

/** Standard Webhooks keys (base64 of 32 bytes): the current one has no expiry, a replaced one signs 24 h more. */
export interface AffiliateSigningSecretsTable {
  id: Generated<number>
  affiliate_id: number
  secret: string
  created_at: CreatedAt
  expires_at: Date | null
}

/** An origin that asked for air (429/503 with Retry-After): no attempt to it before held_until. */
export interface OriginHoldsTable {
  origin: string
  held_until: Date
}

/** One row; bumped by triggers whenever offers, goals, advertisers or affiliates change (intake cache). */
export interface IntakeCatalogVersionTable {
  id: number
  version: number
}

/** Offers and affiliates deleted, for the click replicas (which read rows, so would never see a row go). */
export interface ClickReplicaDeletionsTable {
  kind: 'offer' | 'affiliate'
  id: number
  change_xid: ChangeXid
}

/** Clicks per 15-minute UTC bucket, offer and affiliate; kept by a trigger on clicks (statistics). */
export interface StatsClicksTable {
  bucket: Date
  offer_id: number
  affiliate_id: number
  clicks: number
}

/** What a conversion rollup row counts and sums, by status. */
export interface ConversionFigureColumns {
  conversions: number
  approved: number
  pending: number
  declined: number
  hold: number
  revenue: Numeric
  payout: Numeric
  pending_revenue: Numeric
  pending_payout: Numeric
}

/** Conversions per bucket, offer, affiliate, goal and currency, by status; kept by triggers on conversions. */
export interface StatsConversionsTable extends ConversionFigureColumns {
  bucket: Date
  offer_id: number
  affiliate_id: number
  goal: string
  currency: string
}

/** The one row: clicks created before `folded_until` are counted in stats_clicks; later ones are read raw. */
export interface StatsClickFoldTable {
  only_row: Generated<boolean>
  folded_until: Date
}

/** A reporting zone whose daily tier counts what is created from `since` on. */
export interface StatsZonesTable {
  zone: string
  since: Date
  /** The daily tier holds what was created in [since, folded_until). */
  folded_until: Date
}

/** Clicks per local day of a reporting zone, once per offer (affiliate_id 0) and once per affiliate (offer_id 0). */
export interface StatsDailyClicksTable {
  zone: string
  day: string
  offer_id: number
  affiliate_id: number
  currency: string
  clicks: number
}

/** Conversions per local day of a reporting zone, by offer or by affiliate as in stats_daily_clicks. */
export interface StatsDailyConversionsTable extends ConversionFigureColumns {
  zone: string
  day: string
  offer_id: number
  affiliate_id: number
  goal: string
  currency: string
}

export interface Database {
  admin_api_keys: AdminApiKeysTable
  advertisers: AdvertisersTable
  tracking_domains: TrackingDomainsTable
  offers: OffersTable
  offer_goals: OfferGoalsTable
  affiliates: AffiliatesTable
  tracking_links: TrackingLinksTable
  clicks: ClicksTable
  conversions: ConversionsTable
  conversion_events: ConversionEventsTable
  server_postbacks: ServerPostbacksTable
  postbacks: PostbacksTable
  postback_deliveries: PostbackDeliveriesTable
  postback_attempts: PostbackAttemptsTable
  intake_catalog_version: IntakeCatalogVersionTable
  click_replica_deletions: ClickReplicaDeletionsTable
  stats_clicks: StatsClicksTable
  stats_conversions: StatsConversionsTable
  stats_click_fold: StatsClickFoldTable
  stats_zones: StatsZonesTable
  stats_daily_clicks: StatsDailyClicksTable
  stats_daily_conversions: StatsDailyConversionsTable
  affiliate_signing_secrets: AffiliateSigningSecretsTable
  origin_holds: OriginHoldsTable
  cap_counters: CapCountersTable
}

export type AdvertiserRow = Selectable<AdvertisersTable>
export type TrackingDomainRow = Selectable<TrackingDomainsTable>
export type OfferRow = Selectable<OffersTable>
export type OfferGoalRow = Selectable<OfferGoalsTable>
export type AffiliateRow = Selectable<AffiliatesTable>
export type TrackingLinkRow = Selectable<TrackingLinksTable>
export type ClickRow = Selectable<ClicksTable>
export type NewClick = Insertable<ClicksTable>
export type ConversionRow = Selectable<ConversionsTable>
export type ConversionUpdate = Updateable<ConversionsTable>
export type ConversionEventRow = Selectable<ConversionEventsTable>
export type PostbackRow = Selectable<PostbacksTable>
export type PostbackDeliveryRow = Selectable<PostbackDeliveriesTable>
export type PostbackAttemptRow = Selectable<PostbackAttemptsTable>
