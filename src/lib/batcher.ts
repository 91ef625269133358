/**
 * How to answer each item of a written batch: the item's result, or a throw that fails that item alone.
 * A `write` that rejects fails every item of its batch.
 */
export type BatchAnswer<T, R> = (item: T) => R

export interface BatcherOptions {
  /** Most items in one batch. */
  maxBatch: number
  /** Batches being written at once. */
  maxConcurrent: number
}

interface Waiting<T, R> {
  item: T
  resolve: (result: R) => void
  reject: (err: unknown) => void
}

/**
 * Group commit: while `maxConcurrent` batches are being written, the items handed in meanwhile wait and go
 * together, at most `maxBatch` of them in arrival order, as soon as a write finishes. At low load each item
 * goes at once, alone; under load one round trip serves many. An item always goes in a write started after
 * it was handed in. `write` is an async function: it reports a failure by rejecting, never by throwing.
 */
export class Batcher<T, R> {
  readonly #write: (items: T[]) => Promise<BatchAnswer<T, R>>
  readonly #maxBatch: number
  readonly #maxConcurrent: number
  #waiting: Waiting<T, R>[] = []
  #inFlight = 0
  #idleWaiters: (() => void)[] = []

  constructor (write: (items: T[]) => Promise<BatchAnswer<T, R>>, options: BatcherOptions) {
    this.#write = write
    this.#maxBatch = options.maxBatch
    this.#maxConcurrent = options.maxConcurrent
  }

  add (item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject })
      this.#pump()
    })
  }

  /** Resolves once everything handed in so far is written (or has failed). */
  idle (): Promise<void> {
    if (this.#inFlight === 0 && this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => { this.#idleWaiters.push(resolve) })
  }

  #pump (): void {
    while (this.#inFlight < this.#maxConcurrent && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch)
      this.#inFlight += 1
      this.#write(batch.map((w) => w.item)).then(
        (answer) => { for (const w of batch) answerOne(w, answer) },
        (err: unknown) => { for (const w of batch) w.reject(err) }
      ).finally(() => {
        this.#inFlight -= 1
        this.#pump()
        if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
          const waiters = this.#idleWaiters
          this.#idleWaiters = []
          for (const resolve of waiters) resolve()
        }
      })
    }
  }
}

function answerOne<T, R> (waiting: Waiting<T, R>, answer: BatchAnswer<T, R>): void {
  let result: R
  try {
    result = answer(waiting.item)
  } catch (err) {
    waiting.reject(err)
    return
  }
  waiting.resolve(result)
}
