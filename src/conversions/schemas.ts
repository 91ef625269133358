import type { FromSchema } from 'json-schema-to-ts'
import { bigIdParam, currencyCode, dateTime, idParam, listQuery, money, nullableDateTime, type QueryOf } from '../http/schemas.js'
import { CONVERSION_STATUSES } from '../domain/statuses.js'

const statusName = {
  type: 'string',
  enum: CONVERSION_STATUSES,
  description: 'Advertiser postbacks send these as numbers 1, 2, 3, 5 (or names); the API always uses the names',
} as const
const amount = { type: 'number', minimum: 0 } as const
const nullableText = { type: ['string', 'null'] } as const

const statusHistory = {
  type: 'array',
  description: 'Every creation and status change, oldest first',
  items: {
    type: 'object',
    required: ['from', 'to', 'source', 'at'],
    properties: {
      from: { type: ['string', 'null'], enum: ['approved', 'pending', 'declined', 'hold', null], description: 'null for the creation' },
      to: statusName,
      source: { type: 'string', enum: ['advertiser', 'admin', 'hold_expiry'] },
      at: dateTime,
    },
  },
} as const

const conversionProperties = {
  id: { type: 'integer' },
  clickid: { type: ['string', 'null'], examples: ['6943f2a1b7e4c09d2f5a8e31'], description: 'null for a probabilistic-attribution conversion' },
  offer_id: { type: 'integer' },
  affiliate_id: { type: 'integer' },
  goal: { type: 'string', examples: ['1'], description: 'The offer goal\'s value, as the offer spells it' },
  action_id: { ...nullableText, examples: ['order-100234'], description: 'The advertiser\'s id for the conversion (`{transactionid}` in affiliate postbacks)' },
  status: statusName,
  integration_method: { type: 'string', enum: ['default', 'probabilistic'] },
  sum: { type: ['number', 'null'], minimum: 0, examples: [49.9], description: 'The amount the advertiser reported (`sum=`), in `order_currency`' },
  revenue: { ...amount, examples: [2.5], description: 'What the advertiser pays, in `currency`' },
  payout: { ...amount, examples: [1.8], description: 'What the affiliate earns, in `currency`' },
  currency: { ...currencyCode, description: 'The offer\'s currency' },
  order_currency: { type: ['string', 'null'], examples: ['EUR'], description: 'The currency of `sum`, as the advertiser sent it' },
  ip: { ...nullableText, examples: ['203.0.113.7'], description: 'The postback\'s `ip`, else the click\'s' },
  user_agent: { ...nullableText, examples: ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148'], description: 'The click\'s user agent' },
  comment: { ...nullableText, examples: ['First purchase'] },
  custom_fields: {
    type: 'object',
    additionalProperties: { type: 'string' },
    examples: [{ custom_field1: 'ios' }],
    description: '`custom_field1`..`custom_field15` as the advertiser sent them',
  },
  country: { ...nullableText, examples: ['DE'], description: 'ISO 3166 alpha-2, from the postback\'s `country`' },
  hold_until: { ...nullableDateTime, description: 'Set while the conversion is on hold and the offer has a hold period: it is approved then' },
  decline_reason: {
    type: ['string', 'null'],
    enum: ['Cap is reached', 'Session lifespan expired', 'Declined via advertiser\'s postback', 'Rejected by a manager', null],
    examples: ['Cap is reached'],
    description:
      'Why a `declined` conversion is declined, in Affise\'s words: created past a conversions or payout cap (`Cap is reached`) ' +
      'or after its click session (`Session lifespan expired`), declined by the advertiser\'s `status=3` (`Declined via ' +
      'advertiser\'s postback`) or by an admin\'s change (`Rejected by a manager`); null while not declined. ' +
      'Affiliate postbacks carry it as `{decline_reason}`.',
  },
  created_at: dateTime,
  updated_at: dateTime,
  status_history: statusHistory,
} as const

const { revenue: _revenue, ...panelProperties } = conversionProperties

export const conversionSchema = {
  $id: 'Conversion',
  type: 'object',
  required: Object.keys(conversionProperties),
  properties: conversionProperties,
} as const

export const affiliateConversionSchema = {
  $id: 'AffiliateConversion',
  type: 'object',
  description: 'A conversion as its affiliate sees it: without `revenue`',
  required: Object.keys(panelProperties),
  properties: panelProperties,
} as const

export const conversionPatchSchema = {
  $id: 'ConversionPatch',
  type: 'object',
  additionalProperties: false,
  description:
    'JSON Merge Patch. An admin may move any status to any other (an `admin` event, which fires affiliate postbacks); ' +
    'entering `hold` sets `hold_until` from the offer\'s hold period, leaving it clears `hold_until`; entering `declined` ' +
    'sets `decline_reason: "Rejected by a manager"`, leaving it clears `decline_reason`. `revenue` and ' +
    '`payout` are amounts in the offer\'s currency (at most 4 decimals); `comment: null` clears the comment.',
  properties: {
    status: statusName,
    revenue: { ...money, examples: [2.5] },
    payout: { ...money, examples: [1.8] },
    comment: { type: ['string', 'null'], maxLength: 255, examples: ['Approved after review'] },
  },
} as const

export const postbackAcceptedSchema = {
  $id: 'PostbackAccepted',
  type: 'object',
  required: ['status', 'conversion_id', 'conversion_status', 'duplicate', 'status_changed'],
  properties: {
    status: { type: 'integer', const: 1 },
    conversion_id: { type: 'integer' },
    conversion_status: statusName,
    duplicate: { type: 'boolean', description: 'The postback matched an existing conversion' },
    status_changed: { type: 'boolean', description: 'It changed that conversion\'s status (and fired its postbacks)' },
  },
} as const

export const serverPostbackSchema = {
  $id: 'ServerPostback',
  type: 'object',
  required: ['id', 'received_at', 'method', 'params', 'result', 'http_status', 'detail', 'conversion_id'],
  properties: {
    id: { type: 'integer' },
    received_at: dateTime,
    method: { type: 'string', enum: ['GET', 'POST'] },
    params: {
      type: 'object',
      additionalProperties: { type: 'string' },
      examples: [{ clickid: '6943f2a1b7e4c09d2f5a8e31', action_id: 'order-100234', goal: '1', sum: '49.9', status: '1' }],
      description: 'The parameters as received (query string, then body), never `secure`; at most 50 unknown ones, each value cut at 255 characters',
    },
    result: { type: 'string', enum: ['accepted', 'rejected'] },
    http_status: { type: 'integer' },
    detail: {
      ...nullableText,
      examples: ['Goal not found'],
      description:
      'Why it was rejected (Affise\'s wording); for an accepted postback that created a conversion declined by a rule of ' +
      'the offer, why it was declined (`Cap is reached`, `Session lifespan expired`, `Declined via advertiser\'s postback`); ' +
      'else null'
    },
    conversion_id: { type: ['integer', 'null'] },
  },
} as const

export const conversionSchemas = [conversionSchema, affiliateConversionSchema, conversionPatchSchema, postbackAcceptedSchema, serverPostbackSchema]

const panelFilters = {
  offer_id: { ...idParam, description: 'Only this offer\'s conversions' },
  status: statusName,
  clickid: { type: 'string', pattern: '^[0-9a-fA-F]{24}$', description: 'Only conversions of this click (matched ignoring case, as intake matches it)' },
  action_id: { type: 'string', minLength: 1, maxLength: 255, description: 'Only conversions with this advertiser action id' },
  updated_since: {
    ...dateTime,
    description:
      'Only conversions changed at or after this instant, listed OLDEST CHANGE FIRST (by `updated_at`, then `id`) ' +
      'so a client can sync by passing the last `updated_at` it saw (or following `next_cursor`).',
  },
} as const

export const conversionListQuery = listQuery({ ...panelFilters, affiliate_id: { ...idParam, description: 'Only this affiliate\'s conversions' } })
export const panelConversionListQuery = listQuery(panelFilters)

export const serverPostbackListQuery = listQuery({
  offer_id: { ...idParam, description: 'Only postbacks attributed to this offer' },
  clickid: { type: 'string', minLength: 1, maxLength: 255, description: 'Only postbacks that named this click id (as sent, also a broken one)' },
  result: { type: 'string', enum: ['accepted', 'rejected'] },
})

export const conversionIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: bigIdParam },
} as const

/** What the handlers receive: the schemas as ajv leaves them (defaults filled in). */
export type ConversionListQuery = QueryOf<typeof conversionListQuery>
export type ServerPostbackListQuery = QueryOf<typeof serverPostbackListQuery>
export type ConversionPatch = FromSchema<typeof conversionPatchSchema>
