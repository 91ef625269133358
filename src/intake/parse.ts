import { isIP } from 'node:net'
import { parseEntityId } from '../domain/ids.js'
import { parseAmount, type Amount } from '../domain/money.js'
import { parsePostbackStatus } from '../domain/statuses.js'
import { DomainError, invalidInput } from '../domain/errors.js'
import type { ConversionStatus } from '../domain/statuses.js'

// Parsing of the advertiser postback's parameters (contract §4.2): pure, no I/O. The result is either a typed
// request or why the input is invalid (a 400), and in both cases the parameters as the server-postback log keeps them.

export const MAX_VALUE_LENGTH = 255
export const MAX_EXTRA_PARAMETERS = 50
export const CUSTOM_FIELD_NAMES = Array.from({ length: 15 }, (_, i) => `custom_field${i + 1}`)

/** Parameters the intake understands; every other one is only logged. */
export const KNOWN_PARAMETERS: readonly string[] = [
  'clickid', 'click_id', 'offer_id', 'pid', 'action_id', 'goal', 'sum', 'status', 'secure', 'ip', 'country',
  'order_currency', 'comment', ...CUSTOM_FIELD_NAMES,
]
const KNOWN = new Set(KNOWN_PARAMETERS)

export const MISSING_CLICKID = 'Missing mandatory parameter clickid/click_id'
export const BROKEN_CLICKID = 'Broken clickid'

export interface PostbackRequest {
  /** Set for click attribution; null for probabilistic attribution (then offerId and affiliateId are set). */
  clickid: string | null
  offerId: number | null
  affiliateId: number | null
  actionId: string | null
  goal: string
  sum: Amount | null
  status: ConversionStatus | null
  secure: string | null
  ip: string | null
  country: string | null
  orderCurrency: string | null
  comment: string | null
  /** Only the custom fields the postback carries, by their parameter names. */
  customFields: Record<string, string>
}

export type ParsedPostback =
  | { ok: true; request: PostbackRequest; logParams: Record<string, string> }
  | { ok: false; error: DomainError; logParams: Record<string, string>; clickid: string | null }

/** A value as text; `null` for a structured JSON value (an object), which no known parameter may be. */
type Text = string | null

function toText (value: unknown): Text | undefined {
  // A loop, not recursion: a JSON body may nest arrays thousands deep.
  while (Array.isArray(value)) {
    if (value.length === 0) return undefined
    value = value[0]
  }
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return undefined
  return null
}

/** Lone surrogates and NUL cannot be stored by PostgreSQL; they become U+FFFD in the log. */
function storable (text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD')
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what PostgreSQL text cannot hold
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const UNSTORABLE_ONE = new RegExp(UNSTORABLE.source)

/** Characters are code points: an emoji is one, though two UTF-16 units. */
function characterCount (text: string): number {
  if (text.length <= MAX_VALUE_LENGTH) return text.length
  let count = 0
  for (const _ of text) count += 1
  return count
}

/** At most 255 characters, never half of one (PostgreSQL refuses a lone surrogate). */
function cut (text: string): string {
  if (text.length <= MAX_VALUE_LENGTH) return text
  let end = 0
  let count = 0
  for (const character of text) {
    if (count === MAX_VALUE_LENGTH) break
    end += character.length
    count += 1
  }
  return text.slice(0, end)
}

/**
 * Collects the parameters from the query string and then the body: the first occurrence of a name wins
 * (so on a POST the query string beats the body), and an array (a repeated form field) gives its first value.
 */
export function collectParameters (...sources: unknown[]): Map<string, Text> {
  const params = new Map<string, Text>()
  for (const source of sources) {
    if (source === null || typeof source !== 'object' || Array.isArray(source)) continue
    for (const [name, raw] of Object.entries(source as Record<string, unknown>)) {
      if (params.has(name)) continue
      const text = toText(raw)
      if (text !== undefined) params.set(name, text)
    }
  }
  return params
}

/** What the server-postback log keeps: every known parameter but `secure`, and up to 50 others, each cut at 255. */
export function logParameters (params: Map<string, Text>): Record<string, string> {
  // No prototype: a parameter named `__proto__` is kept like any other.
  const out = Object.create(null) as Record<string, string>
  let extras = 0
  for (const [name, value] of params) {
    if (name.toLowerCase() === 'secure') continue
    if (!KNOWN.has(name)) {
      if (extras >= MAX_EXTRA_PARAMETERS) continue
      extras += 1
    }
    out[cut(storable(name))] = cut(storable(value ?? '[structured value]'))
  }
  return out
}

const CLICK_ID = /^[0-9a-f]{24}$/i
const DECIMAL_TEXT = /^\d+(\.\d+)?$/
const COUNTRY = /^[A-Za-z]{2}$/
const CURRENCY = /^[A-Za-z]{3}$/

function invalid (name: string, rule: string): DomainError {
  return invalidInput(`Invalid parameter ${name}: ${rule}`, `/${name}`)
}

/**
 * Turns the collected parameters into a request, judging the 400s in the contract's order: a missing click id,
 * a broken one, then each malformed parameter. An empty value counts as absent (a platform whose macro had
 * nothing to fill in sends `sum=`). A click id is matched ignoring case: ours are lowercase hex, and a
 * platform that upper-cases it still means the same click.
 */
export function parsePostback (params: Map<string, Text>): ParsedPostback {
  const logParams = logParameters(params)
  const rawClickid = params.get('clickid') || params.get('click_id') || null
  try {
    return { ok: true, request: toRequest(params), logParams }
  } catch (err) {
    if (!(err instanceof DomainError)) throw err
    return { ok: false, error: err, logParams, clickid: rawClickid === null ? null : cut(storable(rawClickid)).toLowerCase() }
  }
}

function toRequest (params: Map<string, Text>): PostbackRequest {
  const text = (name: string): string | null => {
    const value = params.get(name)
    if (value === undefined || value === '') return null
    if (value === null) throw invalid(name, 'must be a single text value')
    if (characterCount(value) > MAX_VALUE_LENGTH) throw invalid(name, `must be at most ${MAX_VALUE_LENGTH} characters`)
    if (UNSTORABLE_ONE.test(value)) throw invalid(name, 'must be valid text')
    return value
  }

  const clickName = params.get('clickid') ? 'clickid' : 'click_id'
  const clickValue = params.get(clickName)
  let clickid: string | null = null
  let offerId: number | null = null
  let affiliateId: number | null = null
  if (clickValue) {
    if (typeof clickValue !== 'string' || !CLICK_ID.test(clickValue)) throw invalidInput(BROKEN_CLICKID, `/${clickName}`)
    clickid = clickValue.toLowerCase()
  } else {
    // Probabilistic attribution: no click id, but offer_id, pid and action_id.
    if (!params.get('offer_id') || !params.get('pid') || !params.get('action_id')) {
      throw invalidInput(MISSING_CLICKID, '/clickid')
    }
    offerId = entityId(text('offer_id'), 'offer_id')
    affiliateId = entityId(text('pid'), 'pid')
  }

  const actionId = text('action_id')
  const goal = text('goal') ?? '1'

  const sumText = text('sum')
  let sum: Amount | null = null
  if (sumText !== null) {
    sum = DECIMAL_TEXT.test(sumText) ? parseAmount(sumText) : null
    if (sum === null) throw invalid('sum', 'must be a non-negative decimal number with at most 4 decimals and 11 integer digits')
  }

  const statusText = text('status')
  let status: ConversionStatus | null = null
  if (statusText !== null) {
    status = parsePostbackStatus(statusText)
    if (status === null) {
      throw invalid('status', 'must be 1 (approved, also confirmed), 2 (pending), 3 (declined) or 5 (hold), or one of those names')
    }
  }

  const secure = text('secure')
  const ip = text('ip')
  if (ip !== null && isIP(ip) === 0) throw invalid('ip', 'must be an IPv4 or IPv6 address')
  const country = text('country')
  if (country !== null && !COUNTRY.test(country)) throw invalid('country', 'must be an ISO 3166 alpha-2 code')
  const orderCurrency = text('order_currency')
  if (orderCurrency !== null && !CURRENCY.test(orderCurrency)) throw invalid('order_currency', 'must be an ISO 4217 code (3 letters)')
  const comment = text('comment')
  const customFields: Record<string, string> = {}
  for (const name of CUSTOM_FIELD_NAMES) {
    const value = text(name)
    if (value !== null) customFields[name] = value
  }

  return {
    clickid,
    offerId,
    affiliateId,
    actionId,
    goal,
    sum,
    status,
    secure,
    ip,
    country: country?.toUpperCase() ?? null,
    // Kept as the advertiser sent it (§4.2), `usd` as `usd`: it is their record of what `sum` is in.
    orderCurrency,
    comment,
    customFields,
  }
}

function entityId (value: string | null, name: string): number {
  const id = parseEntityId(value)
  if (id === null) throw invalid(name, 'must be a positive integer id')
  return id
}
