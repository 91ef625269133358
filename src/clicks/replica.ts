import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Db } from '../db/database.js'
import { capsFromStored, clickCapsOf, type ClickCap } from '../domain/caps.js'
import { settleWithin } from '../lib/time-limit.js'
import {
  affiliatesForClicks, deletionsSince, offersForClicks, oldestRunningXact, shortLinksForClicks,
  type AffiliateStatus, type OfferForClick, type ReplicaPage, type ShortLinkTarget,
} from './repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    clickReplica: ClickReplica
  }
}

/** Changes reach click validation within a second (contract §3): half of it between two reads. */
const REFRESH_INTERVAL_MS = 500
/** Rows per query, so a large catalog is read without holding it twice in memory. */
const PAGE_SIZE = 10_000
/** How long a click on an id the replica does not hold waits for a fresh read before it is judged unknown. */
const CATCH_UP_MS = 1_000
const NO_PARAMS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>)
const NO_CAPS: ClickCap[] = []

async function readPages<R extends { id: number }> (
  since: string | null, read: (page: ReplicaPage) => Promise<R[]>, apply: (row: R) => void
): Promise<void> {
  let afterId = 0
  for (;;) {
    const rows = await read({ since, afterId, limit: PAGE_SIZE })
    for (const row of rows) apply(row)
    if (rows.length < PAGE_SIZE) return
    afterId = (rows[rows.length - 1] as R).id
  }
}

/**
 * Everything click validation reads, in memory: every offer and affiliate and every link with a short code,
 * loaded at start and refreshed with the rows changed since the last read. Clicks never wait for the
 * database, and while it is away they are validated against the last state read from it.
 *
 * A read first takes the snapshot's xmin, then reads rows written by transactions from the previous read's
 * xmin on: a transaction that had not finished before the previous read is read again, so a change that
 * commits after a later one is not missed (see migration 12-03).
 */
export class ClickReplica {
  readonly offers = new Map<number, OfferForClick>()
  readonly affiliates = new Map<number, AffiliateStatus>()
  /** Short code → link. */
  readonly shortLinks = new Map<string, ShortLinkTarget>()
  /** The xmin taken before the last complete read; null until the first. */
  private since: string | null = null
  private reading: Promise<void> | null = null
  /** A read queued behind the one in flight, shared by the clicks waiting for it. */
  private next: Promise<void> | null = null
  private failing = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly db: Db, private readonly log: FastifyBaseLogger) {}

  /** Reads what changed (everything, the first time). Rejects when the database fails; what was read stays. */
  refresh (): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.reading ??= this.read().then(() => this.succeeded(), (err: unknown) => this.failed(err)).finally(() => { this.reading = null })
    return this.reading
  }

  /**
   * Waits (at most CATCH_UP_MS) for a read that starts after this call: for a click on an id the replica does
   * not hold (an offer, affiliate or link created a moment ago, on any instance, is then found), and after a
   * change made through this instance. While the database is known to be away it returns at once, and a
   * click is judged on what was last read.
   */
  async catchUp (): Promise<void> {
    if (this.failing) return
    const fresh = this.reading === null
      ? this.refresh()
      : (this.next ??= this.reading.catch(() => {}).then(() => { this.next = null; return this.refresh() }))
    await settleWithin(fresh, CATCH_UP_MS)
  }

  /** Refreshes every REFRESH_INTERVAL_MS until `stop`. */
  start (): void {
    this.timer = setInterval(() => { this.refresh().catch(() => {}) }, REFRESH_INTERVAL_MS)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.reading?.catch(() => {})
  }

  private succeeded (): void {
    if (!this.failing) return
    this.failing = false
    this.log.info('click validation follows the database again')
  }

  private failed (err: unknown): never {
    if (!this.failing) {
      this.failing = true
      this.log.error({ err }, 'click validation cannot read the database; clicks are validated against what it last read')
    }
    throw err
  }

  private async read (): Promise<void> {
    const next = await oldestRunningXact(this.db)
    const { since, db } = this
    await readPages(since, (page) => offersForClicks(db, page), (row) => {
      const clickCaps = row.caps.length === 0 ? NO_CAPS : clickCapsOf(capsFromStored(row.caps))
      this.offers.set(row.id, { status: row.status, url: row.url, trafficback_url: row.trafficback_url, clickCaps })
    })
    await readPages(since, (page) => affiliatesForClicks(db, page), (row) => { this.affiliates.set(row.id, row.status) })
    await readPages(since, (page) => shortLinksForClicks(db, page), (row) => {
      const params = Object.keys(row.params).length === 0 ? NO_PARAMS : row.params
      this.shortLinks.set(row.short_code as string, { id: row.id, offer_id: row.offer_id, affiliate_id: row.affiliate_id, params })
    })
    // Links are never deleted, and an offer or affiliate with links cannot be.
    if (since !== null) {
      for (const { kind, id } of await deletionsSince(db, since)) (kind === 'offer' ? this.offers : this.affiliates).delete(id)
    }
    this.since = next
  }
}

/**
 * An onSend hook for the routes that change offers, affiliates or links: a change made through this instance
 * is in its replica before the answer leaves, so a click sent after the answer sees it.
 */
export function catchUpAfterWrites (replica: ClickReplica) {
  return async (request: FastifyRequest, _reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') await replica.catchUp()
    return payload
  }
}

/** Decorates `fastify.clickReplica`, loaded before the service answers: an instance does not start without it. */
async function clickReplicaPlugin (fastify: FastifyInstance) {
  const replica = new ClickReplica(fastify.db, fastify.log.child({ component: 'click-replica' }))
  await replica.refresh()
  fastify.log.info({ offers: replica.offers.size, affiliates: replica.affiliates.size, shortLinks: replica.shortLinks.size }, 'click validation loaded')
  replica.start()
  fastify.decorate('clickReplica', replica)
  fastify.addHook('onClose', () => replica.stop())
}

export default fp(clickReplicaPlugin, { name: 'click-replica', dependencies: ['database'] })
