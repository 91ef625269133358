import { randomBytes } from 'node:crypto'
import { percentEncode } from './macros.js'

/** A tracking link's extra parameter name. */
export const LINK_PARAM_NAME = /^[A-Za-z0-9_]{1,64}$/
/** Names the click URL itself uses; a link param with one of them would shadow it. */
export const RESERVED_LINK_PARAMS: ReadonlySet<string> = new Set(['pid', 'offer_id'])
/** Affise's order for the well-known params; any other name follows, sorted. */
export const KNOWN_LINK_PARAMS: readonly string[] = [
  'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'ref_id', 'ext1', 'ext2', 'ext3',
]
const KNOWN_RANK = new Map(KNOWN_LINK_PARAMS.map((name, i) => [name, i]))

const MACRO_TOKEN = /\{[A-Za-z0-9_]+\}/g
const SHORT_CODE = /^[0-9A-Za-z]{6,64}$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const SHORT_CODE_LENGTH = 10
// The largest multiple of 62 below 256: bytes at or above it are drawn again, so no symbol is favoured.
const UNBIASED_LIMIT = 256 - (256 % BASE62.length)

/**
 * Percent-encodes a link value but leaves `{name}` tokens literal, so an affiliate's own tracker can
 * still substitute them (`sub1={clickid}`).
 */
export function encodeLinkValue (value: string): string {
  let out = ''
  let last = 0
  for (const match of value.matchAll(MACRO_TOKEN)) {
    out += percentEncode(value.slice(last, match.index)) + match[0]
    last = match.index + match[0].length
  }
  return out + percentEncode(value.slice(last))
}

/** sub1..sub8, ref_id, ext1..ext3, then the other names in code-unit order. */
export function orderLinkParams (params: Readonly<Record<string, string>>): [string, string][] {
  const known: [string, string][] = []
  const others: [string, string][] = []
  for (const [name, value] of Object.entries(params)) (KNOWN_RANK.has(name) ? known : others).push([name, value])
  known.sort((a, b) => (KNOWN_RANK.get(a[0]) as number) - (KNOWN_RANK.get(b[0]) as number))
  others.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return [...known, ...others]
}

/**
 * `{base}/click?pid=..&offer_id=..&<params>`. `base` is a scheme and host, or PUBLIC_URL as
 * configured (port and path kept). Reserved names in `params` are left out: the link's own ids win.
 */
export function buildTrackingUrl (base: string, pid: number, offerId: number, params: Readonly<Record<string, string>>): string {
  let url = `${trimSlash(base)}/click?pid=${pid}&offer_id=${offerId}`
  for (const [name, value] of orderLinkParams(params)) {
    if (RESERVED_LINK_PARAMS.has(name)) continue
    url += `&${percentEncode(name)}=${encodeLinkValue(value)}`
  }
  return url
}

export function buildShortUrl (base: string, code: string): string {
  return `${trimSlash(base)}/${code}`
}

/** The params' identity for the link unique index: same pairs, same string, whatever the input order. */
export function canonicalParamsKey (params: Readonly<Record<string, string>>): string {
  return JSON.stringify(orderLinkParams(params))
}

/** 10 random base62 characters (~59 bits): unguessable, and not derived from ids. */
export function generateShortCode (): string {
  let code = ''
  while (code.length < SHORT_CODE_LENGTH) {
    for (const byte of randomBytes(SHORT_CODE_LENGTH * 2)) {
      if (byte >= UNBIASED_LIMIT) continue
      code += BASE62[byte % BASE62.length]
      if (code.length === SHORT_CODE_LENGTH) break
    }
  }
  return code
}

export function isShortCode (s: string): boolean {
  return SHORT_CODE.test(s)
}

/** The URL an advertiser's platform calls; its `{...}` are the advertiser platform's own macros. */
export function advertiserPostbackUrl (base: string, secureCode: string | null): string {
  const url =
    `${trimSlash(base)}/postback?clickid={clickid}&action_id={action_id}&goal={goal}&sum={sum}&status={status}`
  return secureCode === null || secureCode === '' ? url : `${url}&secure=${percentEncode(secureCode)}`
}

function trimSlash (base: string): string {
  return base.endsWith('/') ? base.slice(0, -1) : base
}
