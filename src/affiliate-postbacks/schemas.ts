import type { FromSchema } from 'json-schema-to-ts'
import { dateTime, idParam, nullableDateTime } from '../http/schemas.js'

// The affiliate postback (contract §5.1) and the bodies of every place that manages it (§5.2).

export const MAX_POSTBACK_URL_LENGTH = 2048

/** Contract §5.3, written for the integrator who fills in `url`. */
const MACRO_REFERENCE =
  'The affiliate\'s postback URL: absolute `http` or `https`, with a literal host, at most 2,048 characters. ' +
  'A URL that points at this service itself (the hostname of any tracking domain, ignoring case, or the origin of ' +
  '`PUBLIC_URL`: scheme, host and port) is refused with 422: a postback must never feed the service\'s own intake. ' +
  'The URL is stored verbatim; each delivery replaces its macros once, when the event is enqueued, and every ' +
  'attempt sends exactly that request.\n\n' +
  'Macros (Affise\'s names, lower case, written `{name}`):\n' +
  '- `{clickid}`: this service\'s click id (24 hex characters); empty for a conversion without a click\n' +
  '- `{sub1}`..`{sub8}`, `{ref_id}`, `{ext1}`..`{ext3}`: the values the click carried in those tracking-link parameters\n' +
  '- `{transactionid}`: the advertiser\'s `action_id`\n' +
  '- `{conversion_id}`: this service\'s conversion id\n' +
  '- `{pid}`: the affiliate id\n' +
  '- `{offerid}`, `{offer_id}`: the offer id\n' +
  '- `{offer_name}`: the offer\'s title\n' +
  '- `{goal}`: the conversion\'s goal value\n' +
  '- `{sum}`, `{payout}`: the affiliate\'s payout for the conversion, written plainly (`90`, `9.998`)\n' +
  '- `{currency}`: the payout\'s currency (the offer\'s, ISO 4217)\n' +
  '- `{order_sum}`: the `sum` the advertiser reported; empty when none\n' +
  '- `{order_currency}`: the currency the advertiser reported beside `sum`; empty when none\n' +
  '- `{status}`: the conversion status after the event, as a number: `1` approved, `2` pending, `3` declined, `5` hold\n' +
  '- `{status_name}`: the same status by name: `approved`, `pending`, `declined`, `hold`\n' +
  '- `{date}`: the conversion time, `YYYY-MM-DD HH:MM:SS` in UTC\n' +
  '- `{timestamp}`: the conversion time in unix seconds\n' +
  '- `{click_date}`: the click time, in `{date}`\'s format; empty without a click\n' +
  '- `{ip}`: the conversion\'s IP (the advertiser\'s `ip` parameter, else the click\'s)\n' +
  '- `{uagent}`: the click\'s user agent\n' +
  '- `{geo}`: the conversion\'s country (ISO 3166 alpha-2); empty when unknown\n' +
  '- `{comment}`: the advertiser\'s comment\n' +
  '- `{decline_reason}`: why a declined conversion is declined (`Cap is reached`, `Session lifespan expired`, ' +
  '`Declined via advertiser\'s postback`, `Rejected by a manager`); empty otherwise\n' +
  '- `{custom_field1}`..`{custom_field15}`: the advertiser\'s custom fields\n' +
  '- `{rand}`: a random UUID, new for each delivery\n\n' +
  'Values are percent-encoded (RFC 3986: only unreserved characters stay as they are, a space is `%20`). ' +
  'An unknown macro, or one without a value, becomes the empty string.\n\n' +
  'Your own click id: put it in a sub of the tracking link (`sub1={their_click_id}`, where your tracker fills ' +
  'in its own macro) and take it back as `{sub1}` in this URL, as on Affise. Example: ' +
  '`https://tracker.example/pb?cid={sub1}&payout={sum}&currency={currency}&status={status}&txid={transactionid}`.'

/** Contract §5.4, for everyone who wonders why a postback did or did not fire. */
export const FIRING_RULES =
  'Which postbacks fire: an event is a conversion created or a conversion\'s status changed. A postback matches ' +
  'an event when its `status` fits (`any`: every event; `created`: creation only; `approved`, `pending`, ' +
  '`declined`, `hold`: the status after the event equals it), its `integration_method` is `all` or the ' +
  'conversion\'s, and, for a local postback, its `goal` is null or equals the conversion\'s goal ignoring case. ' +
  'Every matching local postback of the conversion\'s affiliate and offer fires. A matching global postback of the ' +
  'affiliate fires when the affiliate has no local postback for that offer at all, or when none of its local ' +
  'postbacks for the offer matched and the global one has `force_global: true`. Each (event, postback) pair is ' +
  'enqueued exactly once and delivered at least once (see `/v1/postback-deliveries`).'

const url = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_POSTBACK_URL_LENGTH,
  description: MACRO_REFERENCE,
  examples: ['https://partner.example/pb?cid={sub1}&payout={sum}&status={status}'],
} as const
const method = {
  type: 'string',
  enum: ['GET', 'POST'],
  description:
    '`GET` sends the rendered URL. `POST` sends the rendered URL without its query string, and that query string ' +
    'as an `application/x-www-form-urlencoded` body, so both methods carry the same fields.',
} as const
const status = {
  type: 'string',
  enum: ['any', 'created', 'approved', 'pending', 'declined', 'hold'],
  description:
    'The trigger: `any` fires on every event; `created` ("by creating") only when a conversion is created; ' +
    '`approved`, `pending`, `declined`, `hold` when the conversion\'s status after the event equals it ' +
    '(on creation too).',
} as const
const goal = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 64,
  examples: ['1'],
  description:
    'Local postbacks only (422 on a global one): one of the offer\'s goal values, matched ignoring case and ' +
    'stored in the offer\'s spelling (422 when the offer has no such goal). null fires for every goal.',
} as const
const integrationMethod = {
  type: 'string',
  enum: ['all', 'default', 'probabilistic'],
  description: '`default`: only conversions attributed to a click; `probabilistic`: only conversions without a click; `all`: both',
} as const
const forceGlobal = {
  type: 'boolean',
  description:
    'Global postbacks only (422 when true on a local one): also fire for an offer where the affiliate has local ' +
    'postbacks but none of them matched the event.',
} as const
const offerId = {
  type: ['integer', 'null'],
  minimum: 1,
  maximum: 2147483647,
  description: 'The offer of a local postback; null (or left out) makes a global postback, for all the affiliate\'s offers. Unknown: 422.',
} as const
const affiliateId = { ...idParam, description: 'The affiliate whose conversions fire it. Unknown: 422.' } as const

const HEALTH_STATES = ['healthy', 'failing', 'disabled'] as const
export type HealthState = (typeof HEALTH_STATES)[number]

export const HEALTH_RULES =
  'Endpoint health, kept as deliveries end: a delivery that ends `failed` (every attempt of its schedule failed, ' +
  'or its destination was refused) counts one failure; one that ends `delivered` resets the count. A manual resend ' +
  'or a redelivery that settles a delivery counts the same way; test fires do not count. After ' +
  '`POSTBACK_DISABLE_AFTER` (default 50) consecutive failed deliveries spanning at least `POSTBACK_DISABLE_MIN_AGE` ' +
  '(default 24h, measured from the first failure of the run to the latest), the postback is `disabled`: it fires ' +
  'nothing new (each event that would have fired it writes a delivery in state `skipped`, which is never sent, so ' +
  'the log shows what it would have sent), its pending deliveries still go out, and the service logs a warning. ' +
  '`PATCH {"enabled": true}` re-enables it and resets the count; `PATCH {"enabled": false}` disables it by hand.'

const postbackHealthSchema = {
  $id: 'PostbackHealth',
  type: 'object',
  description: HEALTH_RULES,
  required: ['state', 'consecutive_failures', 'last_success_at', 'last_failure_at', 'disabled_at', 'disabled_reason'],
  properties: {
    state: {
      type: 'string',
      enum: HEALTH_STATES,
      description: '`healthy`: its last delivery that ended was delivered (or none ended yet); `failing`: one or more in a row failed; `disabled`: it fires nothing new until re-enabled',
    },
    consecutive_failures: { type: 'integer', minimum: 0, description: 'Failed deliveries since the last delivered one' },
    last_success_at: { ...nullableDateTime, description: 'When a delivery last ended `delivered`' },
    last_failure_at: { ...nullableDateTime, description: 'When a delivery last ended `failed`' },
    disabled_at: { ...nullableDateTime, description: 'When it was disabled; null while enabled' },
    disabled_reason: {
      type: ['string', 'null'],
      examples: ['50 consecutive deliveries failed since 2026-12-01T08:00:00Z'],
      description: 'Why it was disabled; null while enabled',
    },
  },
} as const

export const postbackSchema = {
  $id: 'Postback',
  type: 'object',
  description: `An affiliate postback: local (for one offer) or global (for all the affiliate's offers). ${FIRING_RULES}`,
  required: [
    'id', 'affiliate_id', 'offer_id', 'scope', 'url', 'method', 'status', 'goal', 'integration_method', 'force_global',
    'health', 'created_at', 'updated_at',
  ],
  properties: {
    id: { type: 'integer' },
    affiliate_id: { type: 'integer', description: 'Never changes' },
    offer_id: { type: ['integer', 'null'], description: 'null for a global postback' },
    scope: { type: 'string', enum: ['local', 'global'], description: 'Derived from `offer_id`: `local` when set, `global` when null' },
    url,
    method,
    status,
    goal: { type: ['string', 'null'], examples: goal.examples, description: goal.description },
    integration_method: integrationMethod,
    force_global: forceGlobal,
    health: { $ref: 'PostbackHealth#' },
    created_at: dateTime,
    updated_at: dateTime,
  },
} as const

const settings = {
  url,
  method: { ...method, default: 'GET' },
  status: { ...status, default: 'any' },
  goal,
  integration_method: { ...integrationMethod, default: 'all' },
  force_global: { ...forceGlobal, default: false },
} as const

export const postbackCreateSchema = {
  $id: 'PostbackCreate',
  type: 'object',
  additionalProperties: false,
  description: 'A postback for the affiliate named by the path (or the calling affiliate): `offer_id` set makes it local, left out or null global.',
  required: ['url'],
  properties: { offer_id: offerId, ...settings },
} as const

export const offerPostbackCreateSchema = {
  $id: 'OfferPostbackCreate',
  type: 'object',
  additionalProperties: false,
  description: 'A local postback on the offer named by the path, for the affiliate named by `affiliate_id`.',
  required: ['affiliate_id', 'url'],
  properties: { affiliate_id: affiliateId, ...settings },
} as const

export const panelOfferPostbackCreateSchema = {
  $id: 'PanelOfferPostbackCreate',
  type: 'object',
  additionalProperties: false,
  description: 'A local postback of the calling affiliate on the offer named by the path.',
  required: ['url'],
  properties: settings,
} as const

export const postbackPatchSchema = {
  $id: 'PostbackPatch',
  type: 'object',
  additionalProperties: false,
  description:
    'JSON Merge Patch: fields left out stay; `goal: null` clears the goal. `affiliate_id` never changes (400: not an ' +
    'allowed field). `offer_id` may change, local ↔ global (`null` makes it global), and then `goal` and ' +
    '`force_global` are judged again against the new state: making a postback global while it has a goal is 422 ' +
    'unless the same patch sets `goal: null`; making it local while `force_global` is true is 422 unless the same ' +
    'patch sets `force_global: false`; a goal kept while moving to another offer must be one of that offer\'s goals.',
  properties: {
    offer_id: offerId,
    url,
    method,
    status,
    goal,
    integration_method: integrationMethod,
    force_global: forceGlobal,
    enabled: {
      type: 'boolean',
      description:
        '`true` re-enables a postback that endpoint health disabled (or that was disabled by hand) and resets its count ' +
        'of consecutive failures; `false` disables it by hand. Either way its pending deliveries stay as they are.',
    },
  },
} as const

export const postbacksDeletedSchema = {
  $id: 'PostbacksDeleted',
  type: 'object',
  required: ['deleted'],
  description: 'How many postbacks were removed; their pending deliveries were cancelled, the delivery log stays',
  properties: { deleted: { type: 'integer', minimum: 0 } },
} as const

export const postbackSchemas = [
  postbackHealthSchema, postbackSchema, postbackCreateSchema, offerPostbackCreateSchema, panelOfferPostbackCreateSchema, postbackPatchSchema,
  postbacksDeletedSchema,
]

/** What the handlers receive: the schemas as ajv leaves them (defaults filled in). */
export type PostbackCreate = FromSchema<typeof postbackCreateSchema>
export type OfferPostbackCreate = FromSchema<typeof offerPostbackCreateSchema>
/** The settings every place accepts, defaults filled in: the panel's offer route takes exactly these. */
export type PostbackSettings = FromSchema<typeof panelOfferPostbackCreateSchema>
export type PostbackPatch = FromSchema<typeof postbackPatchSchema>
export type PostbackListFilters = FromSchema<{ type: 'object', properties: typeof postbackListFilters }>

export const postbackListFilters = {
  affiliate_id: { ...idParam, description: 'Only this affiliate\'s postbacks' },
  offer_id: { ...idParam, description: 'Only local postbacks of this offer' },
  scope: { type: 'string', enum: ['local', 'global'], description: 'Only local or only global postbacks' },
  health: { type: 'string', enum: HEALTH_STATES, description: 'Only postbacks in this endpoint-health state (see `PostbackHealth`)' },
} as const
