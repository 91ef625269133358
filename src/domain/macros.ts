import { randomUUID } from 'node:crypto'

const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/
// encodeURIComponent keeps these, RFC 3986 reserves them (sub-delims).
const SUB_DELIMS_KEPT = /[!'()*]/g
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const MACRO_TOKEN = /\{([A-Za-z0-9_]+)\}/g

/** RFC 3986 percent-encoding of UTF-8: only unreserved characters stay as they are. */
export function percentEncode (value: string): string {
  if (UNRESERVED_ONLY.test(value)) return value
  let encoded: string
  try {
    encoded = encodeURIComponent(value)
  } catch {
    // A lone surrogate (from a broken client) must not turn a click or a postback into a 500.
    encoded = encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD'))
  }
  return encoded.replace(SUB_DELIMS_KEPT, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/**
 * Replaces each `{name}` with its percent-encoded value, unknown names with nothing. The rest of the
 * template is copied byte for byte: advertisers' URLs carry macros in paths and odd encodings that
 * any URL normalisation would break.
 */
export function renderTemplate (template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(MACRO_TOKEN, (_token, name: string) => {
    // hasOwn keeps `{constructor}` or `{__proto__}` from reaching Object.prototype.
    const value = Object.hasOwn(values, name) ? values[name] : undefined
    return value === undefined ? '' : percentEncode(value)
  })
}

export interface ClickForMacros {
  clickid: string
  pid: number
  offerId: number
  params: Record<string, string>
  ip: string
  userAgent: string
  referrer: string | null
  time: Date
}

/** Values for the offer URL's macros (contract §4.1). Built as one literal: this runs on every click. */
export function clickMacroValues (click: ClickForMacros): Record<string, string> {
  const p = click.params
  const pid = String(click.pid)
  const offerId = String(click.offerId)
  return {
    clickid: click.clickid,
    click_id: click.clickid,
    pid,
    offer_id: offerId,
    offerid: offerId,
    sub1: own(p, 'sub1'),
    sub2: own(p, 'sub2'),
    sub3: own(p, 'sub3'),
    sub4: own(p, 'sub4'),
    sub5: own(p, 'sub5'),
    sub6: own(p, 'sub6'),
    sub7: own(p, 'sub7'),
    sub8: own(p, 'sub8'),
    ref_id: own(p, 'ref_id'),
    ext1: own(p, 'ext1'),
    ext2: own(p, 'ext2'),
    ext3: own(p, 'ext3'),
    ip: click.ip,
    device_ua: click.userAgent,
    referrer: click.referrer ?? '',
    rand: randomUUID(),
    time: String(Math.floor(click.time.getTime() / 1000)),
  }
}

/** A parameter's own value, or '' (params may come from any parser, prototype and all). */
export function own (params: Readonly<Record<string, string>>, name: string): string {
  return Object.hasOwn(params, name) ? (params[name] ?? '') : ''
}
