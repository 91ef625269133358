import { currencyCode } from '../http/schemas.js'

export const panelOfferGoalSchema = {
  $id: 'PanelOfferGoal',
  type: 'object',
  required: ['value', 'title', 'type', 'payout'],
  properties: {
    value: { type: 'string', examples: ['1'], description: 'The goal value conversions carry (`{goal}` in postbacks)' },
    title: { type: 'string', examples: ['Install'] },
    type: { type: 'string', enum: ['fixed', 'percent'], description: '`percent`: payout is a percentage of the advertiser\'s sum' },
    payout: { type: 'number', minimum: 0, examples: [1.8], description: 'What the affiliate earns: an amount in the offer\'s currency, or a percentage' },
  },
} as const

export const panelOfferSchema = {
  $id: 'PanelOffer',
  type: 'object',
  description: 'An active offer as an affiliate sees it: never the advertiser\'s URL, revenue or secure code',
  required: ['id', 'title', 'status', 'currency', 'goals', 'caps'],
  properties: {
    id: { type: 'integer' },
    title: { type: 'string', examples: ['Acme app install'] },
    status: { type: 'string', enum: ['active'] },
    currency: currencyCode,
    goals: { type: 'array', items: { $ref: 'PanelOfferGoal#' } },
    caps: {
      type: 'array',
      items: { $ref: 'PanelOfferCap#' },
      description:
        'The caps that apply to the caller (every affiliate\'s, and those naming the caller), with what is left in the ' +
        'current period: as on Affise, an affiliate sees the caps it works under, not the other affiliates\' traffic.',
    },
  },
} as const

export const panelOfferSchemas = [panelOfferGoalSchema, panelOfferSchema]
