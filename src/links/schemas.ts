import type { FromSchema } from 'json-schema-to-ts'
import { dateTime, idParam, nullableDateTime } from '../http/schemas.js'

export const MAX_LINK_PARAMS = 30
export const MAX_LINK_PARAM_LENGTH = 1024
/** A whole link, encoded: browsers, proxies and this service's own HTTP parser (16 KiB of request line and headers) all pass it. */
export const MAX_LINK_LENGTH = 8000

const params = {
  type: 'object',
  description:
    'Extra click parameters: `sub1`..`sub8`, `ref_id`, `ext1`..`ext3` and any other name of 1-64 letters, digits or ' +
    `\`_\` (not \`pid\` or \`offer_id\`), string values of at most ${MAX_LINK_PARAM_LENGTH} characters, at most ` +
    `${MAX_LINK_PARAMS} of them, and the whole link at most ${MAX_LINK_LENGTH} characters once encoded (400 beyond). Macro tokens such as \`{clickid}\` stay literal in the link so the affiliate's own tracker can fill them in.`,
  maxProperties: MAX_LINK_PARAMS,
  examples: [{ sub1: '{their_click_id}', sub2: 'banner-300x250' }],
  patternProperties: {
    '^(?!(?:pid|offer_id)$)[A-Za-z0-9_]{1,64}$': { type: 'string', maxLength: MAX_LINK_PARAM_LENGTH },
  },
  additionalProperties: false,
} as const

export const trackingLinkSchema = {
  $id: 'TrackingLink',
  type: 'object',
  required: ['id', 'offer_id', 'affiliate_id', 'tracking_domain_id', 'use_ssl', 'params', 'url', 'short_url', 'sent_at', 'created_at'],
  properties: {
    id: { type: 'integer' },
    offer_id: { type: 'integer' },
    affiliate_id: { type: 'integer' },
    tracking_domain_id: { type: ['integer', 'null'], description: 'null: the link is on `PUBLIC_URL` (no tracking domain existed)' },
    use_ssl: { type: 'boolean', description: 'Whether the link is https' },
    params: { type: 'object', additionalProperties: { type: 'string' }, examples: [{ sub1: '{their_click_id}', sub2: 'banner-300x250' }] },
    url: {
      type: 'string',
      examples: ['https://track.network.example/click?pid=3&offer_id=7&sub1={their_click_id}&sub2=banner-300x250'],
      description:
        '`{scheme}://{hostname}/click?pid=..&offer_id=..` then the params: `sub1`..`sub8`, `ref_id`, `ext1`..`ext3`, the ' +
        'others by name; values RFC 3986 percent-encoded except `{macro}` tokens',
    },
    short_url: { type: ['string', 'null'], examples: ['https://track.network.example/aZ3kQ9x'], description: '`{scheme}://{hostname}/{code}`, once a shortlink was asked for' },
    sent_at: { ...nullableDateTime, description: 'When the link was sent to the affiliate (shown in its panel from then on)' },
    created_at: dateTime,
  },
} as const

export const trackingLinkCreateSchema = {
  $id: 'TrackingLinkCreate',
  type: 'object',
  additionalProperties: false,
  required: ['affiliate_id'],
  properties: {
    affiliate_id: { ...idParam, description: 'The affiliate (`pid`); unknown or not active: 422' },
    tracking_domain_id: {
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 2147483647,
      description: 'Left out (or null): the offer\'s domain, else the default domain, else `PUBLIC_URL`. Unknown: 422',
    },
    use_ssl: {
      type: 'boolean',
      description:
        'https (true) or http (false). Left out: https when the domain allows it, else http. A protocol the domain does ' +
        'not allow is a 422; on `PUBLIC_URL` the only protocol is PUBLIC_URL\'s own.',
    },
    shortlink: { type: 'boolean', default: false, description: 'Also give the link a short URL (kept once made)' },
    params,
    send: { type: 'boolean', default: false, description: 'Affise\'s "Confirm & send": mark the link sent to the affiliate' },
  },
} as const

export const trackingLinkSchemas = [trackingLinkSchema, trackingLinkCreateSchema]

/** What the handler receives: the schema as ajv leaves it (defaults filled in). */
export type TrackingLinkCreate = FromSchema<typeof trackingLinkCreateSchema>
