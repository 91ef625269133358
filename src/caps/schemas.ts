import { dateTime, nullableDateTime } from '../http/schemas.js'

const amount = (description: string, example: number) => ({ type: 'number', minimum: 0, examples: [example], description }) as const
const periodFields = {
  period_start: { ...dateTime, description: 'Start of the current period (UTC); for `total`, 1970-01-01T00:00:00.000Z' },
  period_end: { ...nullableDateTime, description: 'End of the current period (exclusive, UTC); null for `total`' },
} as const

export const offerCapStatusSchema = {
  $id: 'OfferCapStatus',
  type: 'object',
  required: ['metric', 'period', 'limit', 'per_affiliate', 'affiliate_id', 'goal', 'used', 'remaining', 'period_start', 'period_end'],
  properties: {
    metric: { type: 'string', enum: ['clicks', 'conversions', 'payout'] },
    period: { type: 'string', enum: ['day', 'week', 'month', 'total'] },
    limit: amount('The cap\'s limit', 500),
    per_affiliate: { type: 'boolean' },
    affiliate_id: { type: ['integer', 'null'] },
    goal: { type: ['string', 'null'] },
    used: amount(
      'Counted in the current period: clicks, conversions created and not declined, or their payout. For a per-affiliate ' +
      'cap, the affiliate\'s own (with `affiliate_id` in the query), else the most any one affiliate has counted. Clicks ' +
      'reach the count within a second.', 120),
    remaining: amount('limit - used, never below 0', 380),
    ...periodFields,
    by_affiliate: {
      type: 'array',
      description: 'Per-affiliate caps without `affiliate_id` in the query: each affiliate that has counted anything in the period',
      items: {
        type: 'object',
        required: ['affiliate_id', 'used', 'remaining'],
        properties: { affiliate_id: { type: 'integer' }, used: amount('Counted', 12), remaining: amount('Left', 38) },
      },
    },
  },
} as const

export const offerCapStatusListSchema = {
  $id: 'OfferCapStatusList',
  type: 'object',
  required: ['data', 'next_cursor'],
  properties: {
    data: { type: 'array', items: { $ref: 'OfferCapStatus#' }, description: 'The offer\'s caps in their order' },
    next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page (an offer has at most 20 caps)' },
  },
} as const

export const panelOfferCapSchema = {
  $id: 'PanelOfferCap',
  type: 'object',
  required: ['metric', 'period', 'limit', 'per_affiliate', 'goal', 'remaining', 'period_start', 'period_end'],
  properties: {
    metric: { type: 'string', enum: ['clicks', 'conversions', 'payout'], description: 'Past a clicks cap clicks go to trafficback; past a conversions or payout cap conversions are declined (`Cap is reached`)' },
    period: { type: 'string', enum: ['day', 'week', 'month', 'total'] },
    limit: amount('The limit', 50),
    per_affiliate: { type: 'boolean', description: 'true: the limit is the caller\'s alone; false: shared by every affiliate it applies to' },
    goal: { type: ['string', 'null'], description: 'The goal it counts; null: every goal' },
    remaining: amount('What is left in the current period (of the caller\'s own count for a per-affiliate cap or one naming the caller)', 38),
    ...periodFields,
  },
} as const

export const capSchemas = [offerCapStatusSchema, offerCapStatusListSchema, panelOfferCapSchema]
