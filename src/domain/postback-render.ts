// Affiliate postback rendering (contract §5.3, §5.5).
import { randomUUID } from 'node:crypto'
import { formatAmountPlain, type Amount } from './money.js'
import { own, renderTemplate } from './macros.js'
import { statusNumber, type ConversionStatus } from './statuses.js'

export const CUSTOM_FIELD_COUNT = 15
const CLICK_PARAM_MACROS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'ref_id', 'ext1', 'ext2', 'ext3']

export interface PostbackContext {
  conversionId: number
  clickid: string | null
  pid: number
  offerId: number
  offerName: string
  goal: string
  actionId: string | null
  /** The affiliate's payout: `{sum}` and `{payout}`. */
  payout: Amount
  currency: string
  /** The advertiser's reported sum: `{order_sum}`. */
  sum: Amount | null
  orderCurrency: string | null
  status: ConversionStatus
  conversionTime: Date
  clickTime: Date | null
  ip: string | null
  userAgent: string | null
  country: string | null
  comment: string | null
  /** Keyed `custom_field1`..`custom_field15`, as the advertiser's postback names them. */
  customFields: Record<string, string>
  clickParams: Record<string, string>
  /** Why a declined conversion is declined (`{decline_reason}`); null otherwise. */
  declineReason: string | null
}

export interface RenderedPostback {
  method: 'GET' | 'POST'
  url: string
  /** POST only: the form body (`application/x-www-form-urlencoded`). */
  body: string | null
}

/** Affise's date format, in UTC: `YYYY-MM-DD HH:MM:SS`. */
export function formatAffiseDate (d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ')
}

/** Every macro of §5.3, raw; renderTemplate encodes them. Absent values are empty strings. */
export function postbackMacroValues (ctx: PostbackContext): Record<string, string> {
  const payout = formatAmountPlain(ctx.payout)
  const offerId = String(ctx.offerId)
  const status = String(statusNumber(ctx.status))
  const values: Record<string, string> = {
    clickid: ctx.clickid ?? '',
    conversion_id: String(ctx.conversionId),
    pid: String(ctx.pid),
    offerid: offerId,
    offer_id: offerId,
    offer_name: ctx.offerName,
    goal: ctx.goal,
    transactionid: ctx.actionId ?? '',
    sum: payout,
    payout,
    currency: ctx.currency,
    order_sum: ctx.sum === null ? '' : formatAmountPlain(ctx.sum),
    order_currency: ctx.orderCurrency ?? '',
    status,
    status_name: ctx.status,
    date: formatAffiseDate(ctx.conversionTime),
    timestamp: String(Math.floor(ctx.conversionTime.getTime() / 1000)),
    click_date: ctx.clickTime === null ? '' : formatAffiseDate(ctx.clickTime),
    ip: ctx.ip ?? '',
    uagent: ctx.userAgent ?? '',
    geo: ctx.country ?? '',
    comment: ctx.comment ?? '',
    decline_reason: ctx.declineReason ?? '',
    rand: randomUUID(),
  }
  for (const name of CLICK_PARAM_MACROS) values[name] = own(ctx.clickParams, name)
  for (let i = 1; i <= CUSTOM_FIELD_COUNT; i++) {
    const name = `custom_field${i}`
    values[name] = own(ctx.customFields, name)
  }
  return values
}

/**
 * The URL as it goes on the wire: what the sender sends is the WHATWG parse of the rendered text, its origin
 * then path and query, so that is what the delivery keeps (§5.3: every attempt sends exactly that request).
 * A template's own raw `é` or space becomes `%C3%A9` or `%20`, and a fragment, never sent, is dropped. Text
 * that does not parse is kept as it is: the sender refuses it as an invalid URL.
 */
function asSent (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  return parsed.origin === 'null' ? url : parsed.origin + parsed.pathname + parsed.search
}

/**
 * GET sends the rendered URL. POST sends the same fields as a form: the query string moves into the
 * body and the fragment, never sent by HTTP clients anyway, is dropped. Values are percent-encoded
 * by then, so the first `?` and `#` can only be the template's own.
 */
export function renderPostbackRequest (
  url: string,
  method: 'GET' | 'POST',
  values: Readonly<Record<string, string | undefined>>
): RenderedPostback {
  const rendered = renderTemplate(url, values)
  if (method === 'GET') return { method, url: asSent(rendered), body: null }
  const hash = rendered.indexOf('#')
  const withoutFragment = hash === -1 ? rendered : rendered.slice(0, hash)
  const query = withoutFragment.indexOf('?')
  if (query === -1) return { method, url: asSent(withoutFragment), body: '' }
  return { method, url: asSent(withoutFragment.slice(0, query)), body: withoutFragment.slice(query + 1) }
}
