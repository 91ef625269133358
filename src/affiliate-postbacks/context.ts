import type { ConversionRow } from '../db/tables.js'
import { amountFromDb } from '../domain/money.js'
import type { PostbackContext } from '../domain/postback-render.js'
import type { ConversionStatus } from '../domain/statuses.js'

/** The conversion columns (alias `c`) and offer title (alias `o`) a postback renders from. */
export const CONTEXT_COLUMNS = [
  'c.id', 'c.clickid', 'c.offer_id', 'c.affiliate_id', 'c.goal', 'c.action_id', 'c.integration_method', 'c.status',
  'c.sum', 'c.payout', 'c.currency', 'c.order_currency', 'c.ip', 'c.user_agent', 'c.country', 'c.comment',
  'c.custom_fields', 'c.click_params', 'c.click_created_at', 'c.created_at', 'c.decline_reason', 'o.title as offer_title',
] as const

/** A conversion's row as CONTEXT_COLUMNS read it: the columns macros need, and the offer's title. */
export type ContextRow = Pick<ConversionRow,
  'id' | 'clickid' | 'offer_id' | 'affiliate_id' | 'goal' | 'action_id' | 'sum' | 'payout' | 'currency' | 'order_currency' | 'ip' |
  'user_agent' | 'country' | 'comment' | 'custom_fields' | 'click_params' | 'click_created_at' | 'created_at' | 'decline_reason'
> & { offer_title: string }

/** Macro context of a conversion as it stands, with the status the event moved it to. */
export function conversionContext (row: ContextRow, status: ConversionStatus): PostbackContext {
  return {
    conversionId: row.id,
    clickid: row.clickid,
    pid: row.affiliate_id,
    offerId: row.offer_id,
    offerName: row.offer_title,
    goal: row.goal,
    actionId: row.action_id,
    payout: amountFromDb(row.payout),
    currency: row.currency,
    sum: row.sum === null ? null : amountFromDb(row.sum),
    orderCurrency: row.order_currency,
    status,
    conversionTime: row.created_at,
    clickTime: row.click_created_at,
    ip: row.ip,
    userAgent: row.user_agent,
    country: row.country,
    comment: row.comment,
    customFields: row.custom_fields,
    clickParams: row.click_params,
    declineReason: row.decline_reason,
  }
}
