import { dateTime } from '../http/schemas.js'
import type { AffiliateStatus } from '../domain/statuses.js'

const name = { type: 'string', minLength: 1, maxLength: 255, examples: ['Partner One'] } as const
const email = {
  type: 'string',
  format: 'email',
  maxLength: 254,
  examples: ['ops@partner.example'],
  description: 'Unique ignoring case (409); stored as given',
} as const
const status = {
  type: 'string',
  enum: ['active', 'inactive', 'banned'],
  description:
    '`inactive` and `banned` affiliates get no clicks (trafficback) and no panel access (403); a `banned` one also gets no new conversions',
} as const
const apiKey = {
  type: 'string',
  examples: ['aff_Vh3kz0Qm1Rr8bXcY2nLd5TfW9pGs4JuA'],
  description: 'The affiliate\'s API key for the panel routes (`/v1/affiliate/...`). Shown only now: only its hash is stored.',
} as const

const affiliateProperties = {
  id: { type: 'integer' },
  name,
  email,
  status,
  created_at: dateTime,
  updated_at: dateTime,
} as const
const affiliateRequired = ['id', 'name', 'email', 'status', 'created_at', 'updated_at'] as const

export const affiliateSchema = {
  $id: 'Affiliate',
  type: 'object',
  required: affiliateRequired,
  properties: affiliateProperties,
} as const

export const affiliateCreatedSchema = {
  $id: 'AffiliateCreated',
  type: 'object',
  description: 'The new affiliate and its API key, the only time the key is shown',
  required: [...affiliateRequired, 'api_key'],
  properties: { ...affiliateProperties, api_key: apiKey },
} as const

export const affiliateCreateSchema = {
  $id: 'AffiliateCreate',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'email'],
  properties: { name, email, status: { ...status, default: 'active' } },
} as const

export const affiliatePatchSchema = {
  $id: 'AffiliatePatch',
  type: 'object',
  additionalProperties: false,
  description: 'JSON Merge Patch: fields left out stay',
  properties: { name, email, status },
} as const

export const affiliateApiKeySchema = {
  $id: 'AffiliateApiKey',
  type: 'object',
  required: ['api_key'],
  properties: { api_key: apiKey },
} as const

export const affiliateSchemas = [
  affiliateSchema, affiliateCreatedSchema, affiliateCreateSchema, affiliatePatchSchema, affiliateApiKeySchema,
]

export interface AffiliateCreate {
  name: string
  email: string
  status: AffiliateStatus
}
export type AffiliatePatch = Partial<AffiliateCreate>
