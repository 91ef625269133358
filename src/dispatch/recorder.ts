import type { Db } from '../db/database.js'
import { recordAttempts, type AttemptRecord, type DisabledPostback, type HealthPolicy, type RecordResult } from './repository.js'

const MAX_BATCH = 200

interface Waiting {
  record: AttemptRecord
  resolve(result: RecordResult): void
  reject(err: unknown): void
}

/**
 * Group commit for finished attempts: while one batch is being written, the next accumulates, so an
 * idle dispatcher writes each attempt at once and a busy one writes many per round trip.
 */
export class AttemptRecorder {
  readonly #db: Db
  readonly #health: HealthPolicy
  readonly #onDisabled: (postbacks: DisabledPostback[]) => void
  #waiting: Waiting[] = []
  #writing: Promise<void> | null = null

  /** `onDisabled` hears of the postbacks a batch disabled (endpoint health, §5.7). */
  constructor (db: Db, health: HealthPolicy, onDisabled: (postbacks: DisabledPostback[]) => void) {
    this.#db = db
    this.#health = health
    this.#onDisabled = onDisabled
  }

  record (record: AttemptRecord): Promise<RecordResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ record, resolve, reject })
      this.#writing ??= this.#drain()
    })
  }

  /** Resolves once everything handed in so far is written (or has failed). */
  async idle (): Promise<void> {
    while (this.#writing !== null) await this.#writing
  }

  async #drain (): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, MAX_BATCH)
        try {
          const { results, disabled } = await recordAttempts(this.#db, batch.map((w) => w.record), this.#health)
          if (disabled.length > 0) this.#onDisabled(disabled)
          for (const w of batch) {
            const result = results.get(w.record.deliveryId)
            if (result === undefined) w.reject(new Error(`delivery ${w.record.deliveryId} vanished`))
            else w.resolve(result)
          }
        } catch (err) {
          for (const w of batch) w.reject(err)
        }
      }
    } finally {
      this.#writing = null
    }
  }
}
