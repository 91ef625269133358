import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { ReadThroughCache } from '../lib/read-through-cache.js'
import type { Db } from '../db/database.js'
import type { AffiliateStatus } from '../domain/statuses.js'
import { findAffiliateStatus, findIntakeOffer, type IntakeOffer } from '../conversions/repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    intakeCache: IntakeCache
  }
}

const TTL_MS = 60_000
const MISS_TTL_MS = 1_000

/**
 * Offers (goals and the secure code in force) and affiliate statuses for postback intake, in memory. It is
 * exact, not eventually fresh: the intake reads the catalog version (bumped by triggers in the transaction of
 * every change, migration 01-30) together with the click, and `observe` drops everything when it moved. So a
 * postback never sees an offer, goal, secure code or affiliate older than its own click lookup, on any instance.
 */
export class IntakeCache {
  readonly offers: ReadThroughCache<number, IntakeOffer>
  readonly affiliates: ReadThroughCache<number, AffiliateStatus>
  private version = -1

  constructor (db: Db) {
    this.offers = new ReadThroughCache((id) => findIntakeOffer(db, id), TTL_MS, MISS_TTL_MS, 50_000)
    this.affiliates = new ReadThroughCache((id) => findAffiliateStatus(db, id), TTL_MS, MISS_TTL_MS, 100_000)
  }

  /** Called with the catalog version read in a query that started after every change this caller must see. */
  observe (version: number): void {
    if (version <= this.version) return
    this.version = version
    // clear() also keeps loads already in flight from being stored: they may predate the change.
    this.offers.clear()
    this.affiliates.clear()
  }
}

async function intakeCachePlugin (fastify: FastifyInstance) {
  fastify.decorate('intakeCache', new IntakeCache(fastify.db))
}

export default fp(intakeCachePlugin, { name: 'intake-cache', dependencies: ['database'] })
