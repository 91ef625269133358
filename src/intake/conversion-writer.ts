import type { Db } from '../db/database.js'
import { writeDeliveries } from '../affiliate-postbacks/enqueue.js'
import {
  conversionKey, insertConversions, type CreatedConversion, type NewConversion, type NewConversionEntry, type Trx,
} from '../conversions/repository.js'
import { countCreated, judgeConversionCaps, planConversionCaps } from '../caps/conversion-caps.js'

export interface ConversionWriterOptions {
  /** Most conversions written in one transaction. */
  maxBatch?: number
  /** Transactions in flight at once; the rest of the pool stays free for lookups. */
  maxConcurrent?: number
}

interface Pending {
  entry: NewConversionEntry
  key: string | null
  resolve: (created: CreatedConversion | undefined) => void
  reject: (err: unknown) => void
}

/**
 * Writes new conversions (with their events, deliveries and log entries) in shared transactions: while the
 * transactions in flight are busy, the postbacks arriving meanwhile queue up and go together in the next one.
 * At low load each goes at once, alone; under load a commit, its round trips and its WAL flush are paid once
 * per batch. A batch holds at most one conversion per uniqueness key (a second waits for the next batch and,
 * the key then taken, is re-judged as a duplicate by its caller), and keys go in sorted order so that
 * concurrent batches take their index locks in the same order and cannot deadlock. Should a batch fail, each
 * of its conversions is written alone, so that one bad row fails only its own postback.
 */
export class ConversionWriter {
  private readonly queue: Pending[] = []
  private inFlight = 0
  private readonly maxBatch: number
  private readonly maxConcurrent: number

  constructor (private readonly db: Db, options: ConversionWriterOptions = {}) {
    this.maxBatch = options.maxBatch ?? 100
    this.maxConcurrent = options.maxConcurrent ?? 4
  }

  /** Inserts the conversion; undefined when its uniqueness key is already held. */
  create (entry: NewConversionEntry): Promise<CreatedConversion | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, key: conversionKey(entry.values), resolve, reject })
      this.pump()
    })
  }

  private pump (): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.takeBatch()
      this.inFlight += 1
      void this.write(batch).finally(() => {
        this.inFlight -= 1
        this.pump()
      })
    }
  }

  /** The next batch: keyed conversions with distinct keys, sorted; a conversion without a key goes alone. */
  private takeBatch (): Pending[] {
    const first = this.queue[0] as Pending
    if (first.key === null) return this.queue.splice(0, 1)
    const batch: Pending[] = []
    const keys = new Set<string>()
    const rest: Pending[] = []
    for (const item of this.queue) {
      if (batch.length < this.maxBatch && item.key !== null && !keys.has(item.key)) {
        keys.add(item.key)
        batch.push(item)
      } else {
        rest.push(item)
      }
    }
    this.queue.splice(0, this.queue.length, ...rest)
    return batch.sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1))
  }

  private async write (batch: Pending[]): Promise<void> {
    try {
      const results = await this.writeTogether(batch.map((item) => item.entry))
      batch.forEach((item, i) => item.resolve(results[i]))
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err)
        return
      }
      for (const item of batch) {
        try {
          item.resolve((await this.writeTogether([item.entry]))[0])
        } catch (itemErr) {
          item.reject(itemErr)
        }
      }
    }
  }

  private writeTogether (given: NewConversionEntry[]): Promise<(CreatedConversion | undefined)[]> {
    return this.db.transaction().execute(async (trx) => {
      // Caps are judged before the conversions are inserted and counted after, for the conversions actually
      // created (a duplicate key inserts nothing and counts nothing). Most batches decline nothing: the insert
      // itself locks their counters, checks they hold the whole batch, and counts it.
      const plan = planConversionCaps(given.map((entry) => entry.values), given.map((entry) => entry.caps))
      const held = await insertConversions(trx, given, plan)
      const { created: results, postbacks } = held.capsHeld ? held : await insertJudgedOneByOne(trx, given)
      // The insert returned everything the postbacks render from, and the postbacks themselves.
      await writeDeliveries(trx, results.flatMap((created) => created === undefined
        ? []
        : [{
            ...created.conversion, offer_title: created.offerTitle, event_id: created.eventId, kind: 'created' as const, to_status: created.conversion.status,
          }]), postbacks)
      return results
    })
  }
}

/**
 * The batch when a cap would be passed, or a counter is missing: its counters locked (still, or made) first,
 * each conversion judged in order against what the earlier ones took, then inserted and counted.
 */
async function insertJudgedOneByOne (trx: Trx, given: readonly NewConversionEntry[]) {
  const judgement = await judgeConversionCaps(trx, given.map((entry) => entry.values), given.map((entry) => entry.caps))
  const entries = given.map((entry, i) => ({ ...entry, values: judgement.values[i] as NewConversion }))
  const inserted = await insertConversions(trx, entries)
  await countCreated(trx, judgement, inserted.created)
  return inserted
}
