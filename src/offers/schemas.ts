import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import { currencyCode, dateTime, httpUrl, idParam, listQuery, money, type QueryOf } from '../http/schemas.js'
import { OFFER_STATUSES } from '../domain/statuses.js'

const title = { type: 'string', minLength: 1, maxLength: 255, examples: ['Acme app install'] } as const
const url = {
  ...httpUrl,
  examples: ['https://advertiser.example/land?cid={clickid}&s={sub1}'],
  description:
    'The advertiser\'s tracking URL (http or https) the click redirects to. May hold macros (`{clickid}`, ' +
    '`{pid}`, `{sub1}`, ...); stored and expanded verbatim, never normalised.',
} as const
const trafficbackUrl = {
  ...httpUrl,
  type: ['string', 'null'],
  examples: ['https://network.example/offers-for-you'],
  description: 'Where invalid clicks (and clicks while the offer is not active) go; null falls back to TRAFFICBACK_URL',
} as const
const status = {
  type: 'string',
  enum: OFFER_STATUSES,
  description:
    '`active`: clicks and conversions flow. `paused`: clicks go to trafficback, conversions for earlier clicks ' +
    'are accepted. `stopped`: clicks go to trafficback, new conversions get 422 `Offer disabled`.',
} as const
const trackingDomainId = {
  type: ['integer', 'null'],
  minimum: 1,
  maximum: 2147483647,
  description: 'The domain its links use; null means the default domain (or PUBLIC_URL when there is none). Unknown: 422.',
} as const
const advertiserId = { type: 'integer', minimum: 1, maximum: 2147483647, description: 'Unknown: 422' } as const
const defaultConversionStatus = {
  type: 'string',
  enum: ['approved', 'pending', 'hold'],
  description: 'The status of a new conversion whose postback carries no `status`',
} as const
const secureCode = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 255,
  examples: ['acme-app-3Hk8rT2w'],
  description: 'When set, conversion postbacks must carry `secure=<code>`; replaces the advertiser\'s code. Never shown in the affiliate panel.',
} as const
const holdPeriodDays = {
  type: 'integer',
  minimum: 0,
  maximum: 3650,
  description: 'A conversion entering `hold` is approved this many days later; 0 keeps it on hold until changed',
} as const

const clickSession = {
  type: 'string',
  pattern: '^[1-9][0-9]{0,5}[hd]$',
  examples: ['30d'],
  description:
    'How long after its click a conversion is still attributed: hours (`12h`) or days (`30d`), from `1h` to `365d`. ' +
    'A conversion whose click is older is created `declined` with `decline_reason: "Session lifespan expired"` (as on ' +
    'Affise, whose partner API names this field `click_session`). At most `CLICK_RETENTION_DAYS` (400 by default): a ' +
    'longer one is 422, as conversions within it would find their click dropped (the default `365d` too, where an ' +
    'operator keeps clicks for less than a year).',
} as const

const capMetric = {
  type: 'string',
  enum: ['clicks', 'conversions', 'payout'],
  description:
    '`clicks`: clicks past it go to trafficback (reason `Overcap`). `conversions`: conversions created and not declined. ' +
    '`payout`: the sum of their payouts, in the offer\'s currency.',
} as const
const capPeriod = {
  type: 'string',
  enum: ['day', 'week', 'month', 'total'],
  description: 'UTC days, ISO weeks (Monday to Sunday) and calendar months, or `total`: the offer\'s whole life',
} as const
const capLimit = {
  type: 'number',
  minimum: 0,
  maximum: 99999999999.9999,
  examples: [500],
  description: 'Above 0: a whole number up to 1,000,000,000 for clicks and conversions, an amount (at most 4 decimals) for payout',
} as const
const capFields = {
  metric: capMetric,
  period: capPeriod,
  limit: capLimit,
  per_affiliate: {
    type: 'boolean',
    description: 'true: each affiliate has the whole limit to itself; false: every affiliate together (or the one `affiliate_id` names)',
  },
  affiliate_id: {
    type: ['integer', 'null'],
    minimum: 1,
    maximum: 2147483647,
    description: 'Counts only this affiliate\'s traffic and applies only to it (unknown: 422); null: every affiliate. Not with `per_affiliate`.',
  },
  goal: {
    type: ['string', 'null'],
    maxLength: 64,
    examples: [null],
    description: 'Narrows a conversions or payout cap to one of the offer\'s goals (ignoring case; unknown: 422); null: every goal. Clicks caps have none.',
  },
} as const

export const offerCapSchema = {
  $id: 'OfferCap',
  type: 'object',
  required: ['metric', 'period', 'limit', 'per_affiliate', 'affiliate_id', 'goal'],
  properties: capFields,
} as const

export const offerCapInputSchema = {
  $id: 'OfferCapInput',
  type: 'object',
  additionalProperties: false,
  required: ['metric', 'period', 'limit'],
  description: 'A cap. Left out: `per_affiliate` is false, `affiliate_id` and `goal` are null.',
  properties: {
    ...capFields,
    per_affiliate: { ...capFields.per_affiliate, default: false },
    affiliate_id: { ...capFields.affiliate_id, default: null },
    goal: { ...capFields.goal, default: null },
  },
} as const

const capsDescription =
  'At most 20 caps on the offer\'s traffic (contract §4.4, Affise\'s caps). A click that finds a clicks cap reached goes to ' +
  'trafficback, reason `Overcap`; a new conversion that would pass a conversions or payout cap is created `declined` with ' +
  '`decline_reason: "Cap is reached"` (200 to the advertiser; postbacks fire as for any declined conversion). Conversions ' +
  'are judged in the transaction that creates them, so a cap is never passed by a conversion, on any number of instances. ' +
  'Clicks are judged without a database round trip: each instance counts its clicks in memory and adds them to a shared ' +
  'counter, reading the other instances\' counts back, every 250 ms, so a clicks cap may be passed by at most the ' +
  'traffic of one second of all instances together. A conversion counts when it is created and not declined, and keeps ' +
  'counting when its status changes later. Changing a limit keeps what was counted; a conversions or payout cap added to a ' +
  'running offer counts the conversions already in its period, a clicks cap counts clicks from when it is set.'
const capsInput = { type: 'array', maxItems: 20, items: { $ref: 'OfferCapInput#' } } as const

const goalValue = {
  type: 'string',
  pattern: '^(?!0$)[A-Za-z0-9_-]{1,64}$',
  examples: ['1'],
  description: 'What the advertiser sends as `goal=`: letters, digits, `_` and `-`, 1-64 characters, not `0`; unique per offer ignoring case (422)',
} as const
const goalType = {
  type: 'string',
  enum: ['fixed', 'percent'],
  description: '`fixed`: revenue and payout are amounts. `percent`: both are percentages (0-100) of the `sum` the advertiser reports.',
} as const
const revenue = { ...money, examples: [2.5], description: 'What the advertiser pays: an amount (at most 4 decimals), or a percentage 0-100 for `percent` goals' } as const
const payout = { ...money, examples: [1.8], description: 'What the affiliate earns: an amount (at most 4 decimals), or a percentage 0-100 for `percent` goals' } as const

const goalTitle = { ...title, examples: ['Install'] } as const

export const offerGoalSchema = {
  $id: 'OfferGoal',
  type: 'object',
  required: ['value', 'title', 'type', 'revenue', 'payout'],
  properties: { value: goalValue, title: goalTitle, type: goalType, revenue, payout },
} as const

export const offerGoalInputSchema = {
  $id: 'OfferGoalInput',
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  description: 'A goal. Left out: `title` is the value, `type` is `fixed`, `revenue` and `payout` are 0.',
  properties: {
    value: goalValue,
    title: goalTitle,
    type: { ...goalType, default: 'fixed' },
    revenue: { ...revenue, default: 0 },
    payout: { ...payout, default: 0 },
  },
} as const

const goalsInput = { type: 'array', maxItems: 100, items: { $ref: 'OfferGoalInput#' } } as const

export const offerSchema = {
  $id: 'Offer',
  type: 'object',
  required: [
    'id', 'advertiser_id', 'title', 'url', 'trafficback_url', 'status', 'tracking_domain_id', 'currency',
    'default_conversion_status', 'allow_duplicate_conversions', 'probabilistic_attribution', 'secure_code',
    'hold_period_days', 'goals', 'click_session', 'caps', 'advertiser_postback_url', 'created_at', 'updated_at',
  ],
  properties: {
    id: { type: 'integer' },
    advertiser_id: { type: 'integer' },
    title,
    url,
    trafficback_url: trafficbackUrl,
    status,
    tracking_domain_id: trackingDomainId,
    currency: currencyCode,
    default_conversion_status: defaultConversionStatus,
    allow_duplicate_conversions: { type: 'boolean' },
    probabilistic_attribution: { type: 'boolean' },
    secure_code: secureCode,
    hold_period_days: holdPeriodDays,
    goals: { type: 'array', items: { $ref: 'OfferGoal#' } },
    click_session: clickSession,
    caps: { type: 'array', maxItems: 20, items: { $ref: 'OfferCap#' }, description: capsDescription },
    advertiser_postback_url: {
      type: 'string',
      readOnly: true,
      examples: ['https://track.network.example/postback?clickid={clickid}&action_id={action_id}&goal={goal}&sum={sum}&status={status}'],
      description:
        'The postback URL to hand the advertiser: on the offer\'s tracking domain (else the default domain, else ' +
        'PUBLIC_URL), https when the domain allows it; `&secure=<code>` is added when the offer or its advertiser has a code.',
    },
    created_at: dateTime,
    updated_at: dateTime,
  },
} as const

const writableProperties = {
  advertiser_id: advertiserId,
  title,
  url,
  trafficback_url: trafficbackUrl,
  status,
  tracking_domain_id: trackingDomainId,
  currency: currencyCode,
  default_conversion_status: defaultConversionStatus,
  allow_duplicate_conversions: { type: 'boolean', description: 'Lifts the (offer, goal, click id) uniqueness key; the action_id key always holds' },
  probabilistic_attribution: { type: 'boolean', description: 'Allows conversions without a click (`offer_id` + `pid` + `action_id`)' },
  secure_code: secureCode,
  hold_period_days: holdPeriodDays,
  click_session: clickSession,
  caps: { ...capsInput, description: `${capsDescription} Replaced whole by a PATCH.` },
} as const

export const offerCreateSchema = {
  $id: 'OfferCreate',
  type: 'object',
  additionalProperties: false,
  required: ['advertiser_id', 'title', 'url'],
  properties: {
    ...writableProperties,
    status: { ...status, default: 'active' },
    currency: { ...currencyCode, default: 'USD' },
    default_conversion_status: { ...defaultConversionStatus, default: 'pending' },
    allow_duplicate_conversions: { ...writableProperties.allow_duplicate_conversions, default: false },
    probabilistic_attribution: { ...writableProperties.probabilistic_attribution, default: false },
    hold_period_days: { ...holdPeriodDays, default: 0 },
    click_session: { ...clickSession, default: '365d' },
    caps: { ...writableProperties.caps, default: [] },
    goals: {
      ...goalsInput,
      description:
        'Up to 100 goals. Left out or empty: the offer gets one goal `{ value: "1", title: "Default", type: "fixed", revenue: 0, payout: 0 }`.',
    },
  },
} as const

export const offerPatchSchema = {
  $id: 'OfferPatch',
  type: 'object',
  additionalProperties: false,
  description:
    'JSON Merge Patch: fields left out stay; `null` clears `trafficback_url`, `tracking_domain_id` and `secure_code`. ' +
    '`goals` is replaced whole (1-100 items); dropping a goal value that a postback or a cap of this offer uses is 409. ' +
    '`caps` is replaced whole (`[]` removes every cap).',
  properties: { ...writableProperties, goals: { ...goalsInput, minItems: 1 } },
} as const

export const offerSchemas = [offerCapSchema, offerCapInputSchema, offerGoalSchema, offerGoalInputSchema, offerSchema, offerCreateSchema, offerPatchSchema]

export type GoalType = 'fixed' | 'percent'

/** What the handlers receive: the schemas as ajv leaves them (defaults filled in), `$ref`s resolved. */
type WithInputs<S extends JSONSchema> = FromSchema<S, { references: [typeof offerCapInputSchema, typeof offerGoalInputSchema] }>
export type OfferGoalInput = FromSchema<typeof offerGoalInputSchema>
export type OfferCreate = WithInputs<typeof offerCreateSchema>
export type OfferPatch = WithInputs<typeof offerPatchSchema>

export const offerListQuery = listQuery({
  status: { type: 'string', enum: OFFER_STATUSES },
  advertiser_id: { ...idParam, description: 'Only this advertiser\'s offers' },
})
/** What the handler receives (the default limit filled in). */
export type OfferListQuery = QueryOf<typeof offerListQuery>
