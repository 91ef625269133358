import type { FromSchema } from 'json-schema-to-ts'
import { dateTime } from '../http/schemas.js'
import { ADVERTISER_STATUSES } from '../domain/statuses.js'

const name = { type: 'string', minLength: 1, maxLength: 255, examples: ['Acme Ads'] } as const
const status = {
  type: 'string',
  enum: ADVERTISER_STATUSES,
  description: 'The network\'s own record of the advertiser; clicks and conversions follow each offer\'s `status`, not this',
} as const
const secureCode = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 255,
  examples: ['acme-7Qx2vL9p'],
  description: 'When set, every conversion postback for this advertiser\'s offers without their own code must carry `secure=<code>`',
} as const

export const advertiserSchema = {
  $id: 'Advertiser',
  type: 'object',
  required: ['id', 'name', 'status', 'secure_code', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'integer' },
    name,
    status,
    secure_code: secureCode,
    created_at: dateTime,
    updated_at: dateTime,
  },
} as const

export const advertiserCreateSchema = {
  $id: 'AdvertiserCreate',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name, status: { ...status, default: 'active' }, secure_code: secureCode },
} as const

export const advertiserPatchSchema = {
  $id: 'AdvertiserPatch',
  type: 'object',
  additionalProperties: false,
  description: 'JSON Merge Patch: fields left out stay; `secure_code: null` clears the code',
  properties: { name, status, secure_code: secureCode },
} as const

export const advertiserSchemas = [advertiserSchema, advertiserCreateSchema, advertiserPatchSchema]

/** What the handlers receive: the schemas as ajv leaves them (defaults filled in). */
export type AdvertiserCreate = FromSchema<typeof advertiserCreateSchema>
export type AdvertiserPatch = FromSchema<typeof advertiserPatchSchema>
