import { createHmac, timingSafeEqual } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { networkInterfaces } from 'node:os'
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { canonicalAddress, LOOP_GUARD_HEADER, reachesService, type Endpoint } from '../domain/self-feed.js'
import { withTimeout } from '../lib/time-limit.js'

declare module 'fastify' {
  interface FastifyInstance {
    ownService: OwnService
  }
}

/** A save waits this long at most for a postback host's addresses; unresolved, it is accepted (it may resolve later). */
const LOOKUP_LIMIT_MS = 2_000
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 }

/**
 * What the service knows of itself, so that no postback can feed its own intake under any name: where it
 * listens (learnt once it listens; none under `inject`), this host's addresses, and the key that marks its
 * own outgoing requests.
 */
export class OwnService {
  listeners: Endpoint[] = []
  readonly #loopKey: string

  constructor (loopKey: string) {
    this.#loopKey = loopKey
  }

  /** Every address of this host's interfaces, read on each call (interfaces come and go). */
  localAddresses (): Set<string> {
    const addresses = new Set<string>()
    for (const list of Object.values(networkInterfaces())) {
      for (const entry of list ?? []) addresses.add(canonicalAddress(entry.address))
    }
    return addresses
  }

  /** Whether a connection to `address`:`port` lands on this service. */
  isOwnEndpoint (address: string, port: number): boolean {
    // Most destinations are on another port: no need to read the interfaces for them.
    return this.#listensOn(port) && reachesService({ address, port }, this.listeners, this.localAddresses())
  }

  #listensOn (port: number): boolean {
    return this.listeners.some((listener) => listener.port === port)
  }

  /**
   * Why `url`'s host resolves to this service, or null. A host that does not resolve in time is accepted:
   * the sender checks again the address it actually connects to.
   */
  async resolvesToSelf (url: URL): Promise<string | null> {
    const port = url.port === '' ? DEFAULT_PORTS[url.protocol] ?? 0 : Number(url.port)
    // A host is looked up only when its port is one this service listens on: other URLs cost no DNS query.
    if (!this.#listensOn(port)) return null
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const addresses = await withTimeout(lookup(host, { all: true, verbatim: true }).catch(() => []), LOOKUP_LIMIT_MS, () => [])
    const own = addresses.find(({ address }) => this.isOwnEndpoint(address, port))
    return own === undefined ? null : `${url.hostname} resolves to ${own.address}, where this service listens on port ${port}`
  }

  /** The mark the dispatcher puts on a request it sends for `ref` (a delivery id, or `test` for a test fire). */
  loopGuard (ref: string): string {
    return `${ref}.${createHmac('sha256', this.#loopKey).update(ref).digest('base64url')}`
  }

  /** Whether a request carries this deployment's own mark: it is one of its own postbacks coming back. */
  isOwnRequest (headers: IncomingHttpHeaders): boolean {
    const value = headers[LOOP_GUARD_HEADER]
    if (typeof value !== 'string') return false
    const ref = value.slice(0, value.indexOf('.'))
    const expected = Buffer.from(this.loopGuard(ref))
    const given = Buffer.from(value)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

async function ownServicePlugin (fastify: FastifyInstance) {
  const row = await sql<{ loop_key: string }>`select loop_key from service_identity where id = 1`.execute(fastify.db)
  const own = new OwnService(row.rows[0]?.loop_key ?? '')
  fastify.decorate('ownService', own)
  fastify.addHook('onListen', async () => {
    // A Unix socket has no address a postback could name.
    own.listeners = fastify.addresses().flatMap((entry) => typeof entry === 'string' ? [] : [{ address: entry.address, port: entry.port }])
  })
}

export default fp(ownServicePlugin, { name: 'own-service', dependencies: ['database'] })
