import type { FromSchema } from 'json-schema-to-ts'
import { dateTime } from '../http/schemas.js'
import { AFFILIATE_STATUSES } from '../domain/statuses.js'

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
  enum: AFFILIATE_STATUSES,
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

export const affiliateSigningSecretSchema = {
  $id: 'AffiliateSigningSecret',
  type: 'object',
  required: ['secret'],
  properties: {
    secret: {
      type: 'string',
      pattern: '^whsec_[A-Za-z0-9+/]{43}=$',
      examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9X7n2y7uF0E='],
      description:
        'A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes; the HMAC key is the bytes after the prefix. ' +
        'Shown only in this answer: keep it now.',
    },
  },
} as const

/** How a receiver checks a postback: the description both places that issue secrets carry. */
export const SIGNING_DESCRIPTION =
  'Issues a new signing secret (shown only in this answer). From the next delivery attempt on, every postback to the ' +
  'affiliate carries the Standard Webhooks headers (https://www.standardwebhooks.com/, as Svix documents them): ' +
  '`webhook-id` (the delivery id, the same as `X-Postback-Delivery-Id` and stable across retries; a test fire ' +
  'uses `test_` + 24 hex digits), `webhook-timestamp` (unix seconds of the attempt) and `webhook-signature`: ' +
  '`v1,` + base64 HMAC-SHA256 keyed with the base64-decoded part of the secret after `whsec_`, over ' +
  '`<webhook-id>.<webhook-timestamp>.<content>`.\n\n' +
  'Content for a POST postback: the form body exactly as received, so any Standard Webhooks library verifies it. ' +
  'For a GET postback there is no body: the content is the request target, the path and query string exactly as ' +
  'received on the request line (`/pb?click=abc&sum=9.5`), not re-encoded; with the reference library: ' +
  '`new Webhook(secret).verify(req.url, req.headers)` (Node), or compute the HMAC as above. Reject timestamps more ' +
  'than 5 minutes from your clock, as the libraries do.\n\n' +
  'Rotation: a new secret replaces the current one, which keeps signing beside it for 24 hours, so during that ' +
  'time `webhook-signature` holds two space-separated signatures (newest first) and a receiver holding either ' +
  'secret verifies. A secret replaced earlier than that stops at once: at most two sign. ' +
  '`DELETE` turns signing off at once (both secrets). Attempts already claimed by the dispatcher sign with the ' +
  'secrets in force when they were claimed.'

export const affiliateSchemas = [
  affiliateSchema, affiliateCreatedSchema, affiliateCreateSchema, affiliatePatchSchema, affiliateApiKeySchema, affiliateSigningSecretSchema,
]

/** What the handlers receive: the schemas as ajv leaves them (defaults filled in). */
export type AffiliateCreate = FromSchema<typeof affiliateCreateSchema>
export type AffiliatePatch = FromSchema<typeof affiliatePatchSchema>
