import type { Db } from '../db/database.js'
import { findClicksWithCatalogVersion, type StoredClick } from '../conversions/repository.js'
import { Batcher } from '../lib/batcher.js'

/**
 * Finds stored clicks for postback intake. Lookups arriving while others are in flight share the next query
 * (`clickid = any(...)`), so under load one statement serves many postbacks; at low load each goes at once.
 * A lookup always goes in a query sent after it was asked, so the catalog version it brings back is at least
 * as new as any change committed before its postback arrived.
 */
export class ClickLookup {
  readonly #batcher: Batcher<string, StoredClick | undefined>

  constructor (db: Db, maxConcurrent = 4, maxBatch = 500) {
    this.#batcher = new Batcher(async (clickids) => {
      const found = await findClicksWithCatalogVersion(db, [...new Set(clickids)])
      return (clickid) => found.get(clickid)
    }, { maxBatch, maxConcurrent })
  }

  find (clickid: string): Promise<StoredClick | undefined> {
    return this.#batcher.add(clickid)
  }
}
