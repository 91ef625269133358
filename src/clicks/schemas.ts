import { dateTime, idParam, listQuery, type QueryOf } from '../http/schemas.js'

export const CLICK_ID_PATTERN = '^[0-9a-f]{24}$'

export const clickSchema = {
  $id: 'Click',
  type: 'object',
  required: ['clickid', 'offer_id', 'affiliate_id', 'tracking_link_id', 'params', 'ip', 'user_agent', 'referrer', 'created_at'],
  properties: {
    clickid: {
      type: 'string',
      pattern: CLICK_ID_PATTERN,
      examples: ['6943f2a1b7e4c09d2f5a8e31'],
      description: '24 lowercase hex characters: the first 8 are the click\'s time in unix seconds (so ids sort by time), ' +
        'the other 16 come from a CSPRNG. Knowing when a click happened still leaves 2^64 possible ids for it: guessing ' +
        'one at a million postbacks a second would take about 300,000 years per click. The service finds a click only in ' +
        'the second its id names, so an id that does not carry its click\'s time (one minted elsewhere) is unknown here.'
    },
    offer_id: { type: 'integer' },
    affiliate_id: { type: 'integer', description: 'The affiliate (`pid`)' },
    tracking_link_id: {
      type: ['integer', 'null'],
      description: 'The generated link the click came through when it used its short URL; null for `/click` URLs, which carry no link identity',
    },
    params: {
      type: 'object',
      additionalProperties: { type: 'string' },
      examples: [{ sub1: 'abc', sub2: 'banner-300x250' }],
      description: 'Every query parameter of the click except `pid` and `offer_id` (`sub1`..`sub8`, `ref_id`, `ext1`..`ext3` and any other); for a short URL, the link\'s stored params plus any extra query parameters',
    },
    ip: { type: 'string', examples: ['203.0.113.7'], description: 'The connection\'s address, or the first untrusted `X-Forwarded-For` hop per `TRUST_PROXY`' },
    user_agent: {
      type: 'string',
      examples: ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148'],
      description: 'Empty when the client sent none; at most 2048 characters kept',
    },
    referrer: {
      type: ['string', 'null'], examples: ['https://publisher.example/reviews/acme'], description: 'The `Referer` header; at most 2048 characters kept',
    },
    created_at: dateTime,
  },
} as const

export const clickSchemas = [clickSchema]

export const clickListQuery = listQuery({
  offer_id: { ...idParam, description: 'Only clicks on this offer' },
  affiliate_id: { ...idParam, description: 'Only clicks of this affiliate' },
  pid: { ...idParam, description: 'Alias of `affiliate_id` (Affise\'s name)' },
})
/** What the handler receives (the default limit filled in). */
export type ClickListQueryString = QueryOf<typeof clickListQuery>
