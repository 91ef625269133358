import type { ConversionEventRow, ConversionRow } from '../db/tables.js'
import type { Db } from '../db/database.js'
import { amountFromDb, amountToJson } from '../domain/money.js'
import { toPage } from '../http/pagination.js'
import { conversionCursorKeys, listConversions, statusHistories } from './queries.js'
import type { ConversionListQuery } from './schemas.js'

// A conversion as the API shows it: one mapping for the admin API and (without revenue) the panel.

const money = (text: string) => amountToJson(amountFromDb(text))

export function conversionToApi (row: ConversionRow, history: ConversionEventRow[]) {
  return {
    id: row.id,
    clickid: row.clickid,
    offer_id: row.offer_id,
    affiliate_id: row.affiliate_id,
    goal: row.goal,
    action_id: row.action_id,
    status: row.status,
    integration_method: row.integration_method,
    sum: row.sum === null ? null : money(row.sum),
    revenue: money(row.revenue),
    payout: money(row.payout),
    currency: row.currency,
    order_currency: row.order_currency,
    ip: row.ip,
    user_agent: row.user_agent,
    comment: row.comment,
    custom_fields: row.custom_fields,
    country: row.country,
    hold_until: row.hold_until,
    decline_reason: row.decline_reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
    status_history: history.map((event) => ({ from: event.from_status, to: event.to_status, source: event.source, at: event.created_at })),
  }
}

export function conversionToPanel (row: ConversionRow, history: ConversionEventRow[]) {
  const { revenue: _revenue, ...rest } = conversionToApi(row, history)
  return rest
}

export const listDescription =
  'Newest first by id. With `updated_since`, only conversions changed at or after it, OLDEST CHANGE FIRST ' +
  '(by `updated_at`, then `id`), for syncing: page with `next_cursor`, or ask again with the last `updated_at` seen ' +
  '(rows sharing that instant come again; de-duplicate by `id`).'

/** One page of conversions with their status histories, each row shown by `toItem`. */
export async function conversionPage<T> (
  db: Db, query: ConversionListQuery, toItem: (row: ConversionRow, history: ConversionEventRow[]) => T
) {
  const rows = await listConversions(db, query)
  const histories = await statusHistories(db, rows.slice(0, query.limit).map((row) => row.id))
  return toPage(rows, query.limit, (row) => toItem(row, histories.get(row.id) ?? []), conversionCursorKeys(query))
}
