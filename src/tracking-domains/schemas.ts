import type { FromSchema } from 'json-schema-to-ts'
import { dateTime } from '../http/schemas.js'
import { HOSTNAME_RULE } from '../domain/hostname.js'

const hostname = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  examples: ['track.network.example'],
  description: `The host links are built on: ${HOSTNAME_RULE}. Single-label names (\`localhost\`) are accepted; ` +
    'IP addresses are not. Stored lowercased; unique ignoring case (409).',
} as const
const allowHttp = { type: 'boolean', description: 'Links on this domain may use http://' } as const
const allowHttps = { type: 'boolean', description: 'Links on this domain may use https://' } as const
const isDefault = {
  type: 'boolean',
  description:
    'Exactly one domain is the default. The first domain created becomes it whatever this says; `true` moves ' +
    'the flag here from the previous default (one transaction). `false` on the current default is 422: pick ' +
    'another domain as default instead.',
} as const

export const trackingDomainSchema = {
  $id: 'TrackingDomain',
  type: 'object',
  required: ['id', 'hostname', 'allow_http', 'allow_https', 'is_default', 'created_at'],
  properties: {
    id: { type: 'integer' },
    hostname,
    allow_http: allowHttp,
    allow_https: allowHttps,
    is_default: isDefault,
    created_at: dateTime,
  },
} as const

export const trackingDomainCreateSchema = {
  $id: 'TrackingDomainCreate',
  type: 'object',
  additionalProperties: false,
  required: ['hostname'],
  description: 'At least one of `allow_http`/`allow_https` must be true (422).',
  properties: {
    hostname,
    allow_http: { ...allowHttp, default: true },
    allow_https: { ...allowHttps, default: true },
    is_default: { ...isDefault, default: false },
  },
} as const

export const trackingDomainPatchSchema = {
  $id: 'TrackingDomainPatch',
  type: 'object',
  additionalProperties: false,
  description:
    'JSON Merge Patch: fields left out stay. After the patch at least one of `allow_http`/`allow_https` must be ' +
    'true (422). Changing `hostname` does not rewrite links already generated.',
  properties: { hostname, allow_http: allowHttp, allow_https: allowHttps, is_default: isDefault },
} as const

export const trackingDomainSchemas = [trackingDomainSchema, trackingDomainCreateSchema, trackingDomainPatchSchema]

/** What the handlers receive: the schemas as ajv leaves them (defaults filled in). */
export type TrackingDomainCreate = FromSchema<typeof trackingDomainCreateSchema>
export type TrackingDomainPatch = FromSchema<typeof trackingDomainPatchSchema>
