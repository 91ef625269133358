import type { Db } from '../db/database.js'
import { findClicksWithCatalogVersion, type StoredClick } from '../conversions/repository.js'

interface Waiting {
  clickid: string
  resolve: (found: StoredClick | undefined) => void
  reject: (err: unknown) => void
}

/**
 * Finds stored clicks for postback intake. Lookups arriving while others are in flight share the next query
 * (`clickid = any(...)`), so under load one statement serves many postbacks; at low load each goes at once.
 * A lookup always goes in a query sent after it was asked, so the catalog version it brings back is at least
 * as new as any change committed before its postback arrived.
 */
export class ClickLookup {
  private queue: Waiting[] = []
  private inFlight = 0

  constructor (private readonly db: Db, private readonly maxConcurrent = 4, private readonly maxBatch = 500) {}

  find (clickid: string): Promise<StoredClick | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ clickid, resolve, reject })
      this.pump()
    })
  }

  private pump (): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch)
      this.inFlight += 1
      findClicksWithCatalogVersion(this.db, [...new Set(batch.map((w) => w.clickid))]).then(
        (found) => { for (const w of batch) w.resolve(found.get(w.clickid)) },
        (err: unknown) => { for (const w of batch) w.reject(err) }
      ).finally(() => {
        this.inFlight -= 1
        this.pump()
      })
    }
  }
}
