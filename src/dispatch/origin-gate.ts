/**
 * Per-origin admission for claimed deliveries: at most `perOrigin` in flight to one receiver and up to
 * `parkCap` parked behind them (sent as slots free up, with no database round trip). A receiver whose
 * parked rows reach the cap is crowded: claims skip it until half of them are gone, and rows a claim
 * still brings for it beyond the cap go back to the database. One slow receiver so holds at most
 * perOrigin + parkCap rows; parkCap stays within two timeouts' worth of sending to it, so a parked row
 * goes out well before its lease ends.
 */
export class OriginGate<T> {
  readonly #perOrigin: number
  readonly #parkCap: number
  readonly #inFlight = new Map<string, number>()
  readonly #parked = new Map<string, T[]>()
  readonly #crowded = new Set<string>()

  constructor(perOrigin: number, parkCap: number) {
    this.#perOrigin = perOrigin
    this.#parkCap = parkCap
  }

  admit(origin: string, item: T): 'start' | 'park' | 'overflow' {
    const inFlight = this.#inFlight.get(origin) ?? 0
    if (inFlight < this.#perOrigin) {
      this.#inFlight.set(origin, inFlight + 1)
      return 'start'
    }
    const parked = this.#parked.get(origin) ?? []
    if (parked.length >= this.#parkCap) return 'overflow'
    parked.push(item)
    this.#parked.set(origin, parked)
    if (parked.length === this.#parkCap) this.#crowded.add(origin)
    return 'park'
  }

  /**
   * An attempt to `origin` got its answer: returns the parked item that takes its slot (unless `next`
   * is false, at shutdown).
   */
  finish(origin: string, next: boolean): { item: T | undefined } {
    const parked = this.#parked.get(origin)
    const item = next ? parked?.shift() : undefined
    if (item === undefined) {
      const inFlight = (this.#inFlight.get(origin) ?? 1) - 1
      if (inFlight <= 0) this.#inFlight.delete(origin)
      else this.#inFlight.set(origin, inFlight)
    }
    const left = parked?.length ?? 0
    if (left <= this.#parkCap >> 1) this.#crowded.delete(origin)
    if (parked !== undefined && left === 0) this.#parked.delete(origin)
    return { item }
  }

  /** Origins whose rows claims should skip for now. */
  crowded(): string[] {
    return [...this.#crowded]
  }

  /**
   * How many rows a claim can take without overflowing, assuming they all go to the busiest receiver
   * (a flood to one receiver is the case that matters; a mix of receivers only overflows less).
   */
  claimRoom(): number {
    let busiest = 0
    for (const [origin, inFlight] of this.#inFlight) {
      if (!this.#crowded.has(origin)) busiest = Math.max(busiest, inFlight + (this.#parked.get(origin)?.length ?? 0))
    }
    return this.#perOrigin + this.#parkCap - busiest
  }
}
