import type { PostbackDeliveryRow } from '../db/tables.js'

/** A delivery as the log shows it, to an admin and (its own) to an affiliate alike. */
export function deliveryToApi (row: PostbackDeliveryRow) {
  return {
    id: row.id,
    postback_id: row.postback_id,
    conversion_id: row.conversion_id,
    event_id: row.event_id,
    method: row.method,
    url: row.url,
    body: row.body,
    state: row.state,
    attempts: row.attempts,
    last_http_code: row.last_http_code,
    last_error: row.last_error,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
    delivered_at: row.delivered_at,
  }
}
