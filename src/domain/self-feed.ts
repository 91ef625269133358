import { isIP } from 'node:net'

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/** Lower-case host without a trailing dot: `Track.Example.com.` and `track.example.com` are one host. */
export function comparableHost (url: URL): string {
  return url.hostname.toLowerCase().replace(/\.$/, '')
}

/** Scheme, comparable host and port (default ports made explicit): `HTTPS://A.example.:443` is `https://a.example:443`. */
export function comparableOrigin (url: URL): string {
  return `${url.protocol}//${comparableHost(url)}:${url.port === '' ? DEFAULT_PORTS[url.protocol] ?? '' : url.port}`
}

/** PUBLIC_URL's comparable origin, or null when it does not parse (config validates it; no match then). */
export function publicOrigin (publicUrl: string): string | null {
  try {
    return comparableOrigin(new URL(publicUrl))
  } catch {
    return null
  }
}

/** Whether `url` has PUBLIC_URL's origin (scheme, host and port, default ports made explicit). */
export function hasPublicOrigin (url: URL, publicUrl: string): boolean {
  return comparableOrigin(url) === publicOrigin(publicUrl)
}

/** The header that marks a request as sent by this deployment's dispatcher (signed: see OwnService). */
export const LOOP_GUARD_HEADER = 'x-s2s-loop-guard'

/** The delivery headers every postback carries (§5.5): its delivery id, and the User-Agent's product. */
export const DELIVERY_ID_HEADER = 'x-postback-delivery-id'
export const USER_AGENT_PRODUCT = 's2s-tracker/'

/**
 * Whether a request carries the delivery headers of a postback this software sends (§5.1: intake refuses them):
 * `X-Postback-Delivery-Id`, or a User-Agent naming s2s-tracker. No advertiser's own server sends either.
 */
export function carriesDeliveryHeaders (headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const agent = headers['user-agent']
  return headers[DELIVERY_ID_HEADER] !== undefined || (typeof agent === 'string' && agent.toLowerCase().startsWith(USER_AGENT_PRODUCT))
}

/** An address and port: one the service listens on, or one a postback would connect to. */
export interface Endpoint {
  address: string
  port: number
}

/**
 * One spelling per address: brackets and case dropped, an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`) read as the IPv4 address it carries, and an IPv6 zone (`fe80::1%eth0`) dropped.
 */
export function canonicalAddress (raw: string): string {
  const address = raw.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase()
  const mapped = /^(?:0{0,4}:){0,5}(?:0{0,4}:)?ffff:(.+)$/.exec(address)
  if (mapped !== null && isIP(address) === 6) {
    const tail = mapped[1] as string
    if (isIP(tail) === 4) return tail
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail)
    if (hex !== null) {
      const high = parseInt(hex[1] as string, 16)
      const low = parseInt(hex[2] as string, 16)
      return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
    }
  }
  return address
}

const UNSPECIFIED = new Set(['0.0.0.0', '::'])

function isLoopback (address: string): boolean {
  return address === '::1' || /^127\./.test(address)
}

/**
 * Whether a connection to `destination` lands on `listener`. A listener on an unspecified address (`0.0.0.0`,
 * `::`) takes connections to any address of this host: loopback (all of 127/8 and ::1), the unspecified
 * address itself (which Linux connects to the host), and every interface address. A listener on a loopback
 * address also takes those to the unspecified address; any other listener only its own address. Ports must
 * be equal: another port on this host is another service.
 */
export function reachesListener (destination: Endpoint, listener: Endpoint, localAddresses: ReadonlySet<string>): boolean {
  if (destination.port !== listener.port) return false
  const to = canonicalAddress(destination.address)
  const on = canonicalAddress(listener.address)
  if (UNSPECIFIED.has(on)) return isLoopback(to) || UNSPECIFIED.has(to) || localAddresses.has(to)
  if (isLoopback(on)) return to === on || UNSPECIFIED.has(to)
  return to === on
}

/** Whether `destination` is this service itself on any of its listeners. */
export function reachesService (destination: Endpoint, listeners: readonly Endpoint[], localAddresses: ReadonlySet<string>): boolean {
  return listeners.some((listener) => reachesListener(destination, listener, localAddresses))
}
