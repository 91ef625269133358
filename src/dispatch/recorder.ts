import type { Db } from '../db/database.js'
import { Batcher } from '../lib/batcher.js'
import { recordAttempts, type AttemptRecord, type DisabledPostback, type HealthPolicy, type RecordResult } from './repository.js'

const MAX_BATCH = 200

/**
 * Group commit for finished attempts, one batch written at a time: while it is, the next accumulates, so an
 * idle dispatcher writes each attempt at once and a busy one writes many per round trip.
 */
export class AttemptRecorder {
  readonly #batcher: Batcher<AttemptRecord, RecordResult>

  /** `onDisabled` hears of the postbacks a batch disabled (endpoint health, §5.7). */
  constructor (db: Db, health: HealthPolicy, onDisabled: (postbacks: DisabledPostback[]) => void) {
    this.#batcher = new Batcher(async (records) => {
      const { results, disabled } = await recordAttempts(db, records, health)
      if (disabled.length > 0) onDisabled(disabled)
      return (record) => {
        const result = results.get(record.deliveryId)
        if (result === undefined) throw new Error(`delivery ${record.deliveryId} vanished`)
        return result
      }
    }, { maxBatch: MAX_BATCH, maxConcurrent: 1 })
  }

  record (record: AttemptRecord): Promise<RecordResult> {
    return this.#batcher.add(record)
  }

  /** Resolves once everything handed in so far is written (or has failed). */
  idle (): Promise<void> {
    return this.#batcher.idle()
  }
}
