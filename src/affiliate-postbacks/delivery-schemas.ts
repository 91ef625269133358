import type { FromSchema } from 'json-schema-to-ts'
import { bigIdParam, dateTime, idParam, listQuery, nullableDateTime, type QueryOf } from '../http/schemas.js'
import { DELIVERY_STATES } from '../domain/statuses.js'

const nullableString = { type: ['string', 'null'] } as const
const state = {
  type: 'string',
  enum: DELIVERY_STATES,
  description:
    '`pending`: waiting for its next attempt (`next_attempt_at`); `delivered`: a 2xx came back; `failed`: every ' +
    'attempt of the schedule failed, the destination was refused (the SSRF guard, or the origin of `PUBLIC_URL`, which no ' +
    'attempt is ever sent to), or a manual resend failed; `cancelled`: its postback was deleted before it was delivered; ' +
    '`skipped`: its postback was disabled by endpoint health (see `PostbackHealth`) when the event happened, so it was ' +
    'written, rendered, and never sent (a manual retry sends it once)',
} as const

const deliveryProperties = {
  id: { type: 'integer', description: 'Stable across attempts; sent as `X-Postback-Delivery-Id` for receiver-side de-duplication' },
  postback_id: { type: 'integer' },
  conversion_id: { type: 'integer' },
  event_id: { type: 'integer', description: 'The conversion event (creation or status change) that fired it' },
  method: { type: 'string', enum: ['GET', 'POST'] },
  url: { type: 'string', examples: ['https://partner.example/pb?cid=abc&payout=1.8&status=1'], description: 'The request URL, rendered once when the event happened; every attempt sends exactly this' },
  body: { ...nullableString, description: 'POST only: the `application/x-www-form-urlencoded` body; null for GET' },
  state,
  attempts: { type: 'integer', description: 'Attempts made so far, scheduled and manual alike' },
  last_http_code: { type: ['integer', 'null'], description: 'Status of the last answer; null when none came (timeout, refused, network error)' },
  last_error: { ...nullableString, examples: ['HTTP 503'], description: 'Why the last attempt failed; null after a success' },
  next_attempt_at: {
    ...nullableDateTime,
    description:
      'When the next scheduled attempt is due: the POSTBACK_RETRY_SCHEDULE wait after the last attempt, within ±10% ' +
      '(jitter, so deliveries that failed together do not all return in the same second). It goes out then or, for ' +
      'waits of a second or more, up to a second later (the dispatcher\'s poll). A receiver answering 429 or 503 with ' +
      '`Retry-After` (delta-seconds or an HTTP-date, RFC 9110) moves it to no earlier than the time asked, capped at the ' +
      'schedule\'s longest wait (a year ahead becomes that wait; an unusable value or a date already past leaves the ' +
      'schedule alone), and holds back that receiver\'s (origin\'s) other deliveries, on every instance, for as long: ' +
      'they wait, `pending`, without spending attempts. A Retry-After on the last attempt buys no extra one. Null unless `pending`',
  },
  created_at: dateTime,
  delivered_at: nullableDateTime,
} as const

const deliveryRequired = Object.keys(deliveryProperties)

export const postbackDeliverySchema = {
  $id: 'PostbackDelivery',
  type: 'object',
  description: 'One (event, postback) pair: enqueued exactly once in the event\'s transaction, delivered at least once',
  required: deliveryRequired,
  properties: deliveryProperties,
} as const

export const postbackAttemptSchema = {
  $id: 'PostbackAttempt',
  type: 'object',
  required: ['n', 'at', 'http_code', 'duration_ms', 'response_body', 'error'],
  properties: {
    n: { type: 'integer', description: '1 for the first attempt' },
    at: { ...dateTime, description: 'When the attempt started' },
    http_code: { type: ['integer', 'null'] },
    duration_ms: { type: 'integer' },
    response_body: { type: 'string', examples: ['ok'], description: 'The first 4 KiB of the answer (UTF-8); empty when none came' },
    error: { ...nullableString, examples: ['HTTP 503'], description: 'null on a 2xx; else e.g. `HTTP 500`, a timeout, a refused destination' },
  },
} as const

export const postbackDeliveryDetailSchema = {
  $id: 'PostbackDeliveryDetail',
  type: 'object',
  required: [...deliveryRequired, 'attempt_log'],
  properties: {
    ...deliveryProperties,
    attempt_log: { type: 'array', items: { $ref: 'PostbackAttempt#' }, description: 'Every attempt, oldest first' },
  },
} as const

export const postbackTestRequestSchema = {
  $id: 'PostbackTestRequest',
  type: 'object',
  additionalProperties: false,
  properties: {
    conversion_id: {
      ...bigIdParam,
      description:
        'Render for this conversion. It must belong to the postback\'s affiliate, and to its offer for a local postback (422 otherwise). ' +
        'Left out: a sample conversion (the postback\'s offer when local, offer id 0 for a global one; goal, sums and subs filled with sample values)',
    },
  },
} as const

export const postbackTestResultSchema = {
  $id: 'PostbackTestResult',
  type: 'object',
  required: ['method', 'url', 'body', 'http_code', 'response_body', 'duration_ms', 'error'],
  properties: {
    method: { type: 'string', enum: ['GET', 'POST'] },
    url: { type: 'string', examples: ['https://partner.example/pb?cid=sample-sub1&payout=1.8&status=1'] },
    body: nullableString,
    http_code: { type: ['integer', 'null'] },
    response_body: { type: 'string', examples: ['ok'], description: 'The first 4 KiB of the answer' },
    duration_ms: { type: 'integer' },
    error: { ...nullableString, description: 'null on a 2xx' },
  },
} as const

export const REDELIVER_DESCRIPTION =
  'After a receiver\'s outage: every delivery of this postback in `state` (default `failed`; `cancelled` also ' +
  'possible) created in [`since`, `until`) becomes `pending` again for exactly one more attempt, due now, through ' +
  'the normal queue: that attempt settles it, `delivered` or `failed`, whatever the retry schedule had left, and ' +
  '`attempts` keeps counting. The answer (202) says how many were queued; the delivery log shows them go. ' +
  'Redeliveries wait beside live traffic fairly: they take the retry share of the dispatcher\'s slots (at most half, ' +
  'behind first attempts) and each receiver\'s fair share, and are made pending in batches of 2,000 rows, each its ' +
  'own short transaction, so a window of a million rows holds no long lock. A delivery whose manual resend is in ' +
  'flight is left out; one already `pending` or `delivered` is never sent again by this call, and calling it twice ' +
  'queues nothing the second time. The answer comes once every batch is queued (about a minute for a million ' +
  'rows on a small machine); a client that stops waiting earlier leaves the queueing to finish. `until` not after `since`: 422.'

export const postbackRedeliverRequestSchema = {
  $id: 'PostbackRedeliverRequest',
  type: 'object',
  additionalProperties: false,
  required: ['since'],
  properties: {
    since: { ...dateTime, examples: ['2026-11-30T00:00:00.000Z'], description: 'Deliveries created at or after this time' },
    until: { ...dateTime, examples: ['2026-12-01T00:00:00.000Z'], description: 'Deliveries created before this time; default now. Not after `since`: 422' },
    state: { type: 'string', enum: ['failed', 'cancelled'], default: 'failed', description: 'Which deliveries to send again' },
  },
} as const

export const postbackRedeliverResultSchema = {
  $id: 'PostbackRedeliverResult',
  type: 'object',
  required: ['queued'],
  properties: { queued: { type: 'integer', minimum: 0, examples: [1250], description: 'Deliveries made `pending` for one more attempt' } },
} as const

/** What the handler receives (the default state filled in). */
export type PostbackRedeliverRequest = FromSchema<typeof postbackRedeliverRequestSchema>

export const deliverySchemas = [
  postbackDeliverySchema, postbackAttemptSchema, postbackDeliveryDetailSchema, postbackTestRequestSchema, postbackTestResultSchema,
  postbackRedeliverRequestSchema, postbackRedeliverResultSchema,
]

const filters = {
  conversion_id: bigIdParam,
  postback_id: idParam,
  state: { type: 'string', enum: state.enum },
} as const

export const deliveryListQuery = listQuery({ ...filters, affiliate_id: idParam })
export const panelDeliveryListQuery = listQuery(filters)

/** What the handlers receive (the default limit filled in). */
export type DeliveryListQuery = QueryOf<typeof deliveryListQuery>
export type PostbackTestRequest = FromSchema<typeof postbackTestRequestSchema>
