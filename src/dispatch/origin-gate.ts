/** Receivers whose earned slots are remembered while idle; beyond, the idle ones start over. */
const MAX_REMEMBERED = 10_000

interface Parked<T> {
  item: T
  /** Order of arrival across every receiver: the smallest has waited longest. */
  seq: number
  at: number
}

export interface GateLimits {
  /** POSTBACK_CONCURRENCY: attempts in flight at most. */
  slots: number
  /** The most one receiver may ever hold. */
  perOrigin: number
  /** Rows parked behind one receiver at most; beyond, claims hand them back. */
  parkCap: number
  /** Slots only a receiver with nothing in flight may take: room for newcomers whatever the others do. */
  reserve: number
}

/**
 * Admission of claimed deliveries to the dispatcher's slots, fair between receivers (origins):
 * - a receiver earns its slots: it starts with one in flight, and each answer it gives lets it have one more
 *   (as TCP's slow start, doubling per round trip up to its share), while an attempt it never answers (a
 *   hang, a trickle, a timeout) halves what it may have. A receiver that hangs keeps a single slot;
 * - a receiver with nothing in flight may always take a free slot, and the last `reserve` slots are kept for
 *   such receivers, so a healthy receiver is served at once however many hang or trickle;
 * - beyond its first, a receiver holds at most its share: the non-reserved slots divided among the receivers
 *   that have work (never more than `perOrigin`);
 * - a freed slot goes to the row that has waited longest among receivers that may take it, never simply to
 *   the same receiver's next row;
 * - rows that cannot start wait parked (up to `parkCap` per receiver, sent with no database round trip). A
 *   receiver whose parked rows reach the cap is crowded: claims skip it until half of them are gone.
 */
export class OriginGate<T> {
  readonly #limits: GateLimits
  readonly #inFlight = new Map<string, number>()
  readonly #parked = new Map<string, Parked<T>[]>()
  readonly #crowded = new Set<string>()
  /** What each receiver has earned (see above); a receiver back at one slot is forgotten. */
  readonly #window = new Map<string, number>()
  #total = 0
  #seq = 0

  constructor (limits: GateLimits) {
    this.#limits = limits
  }

  /** A claimed row: start it now, park it, or hand it back (overflow). */
  admit (origin: string, item: T): 'start' | 'park' | 'overflow' {
    const parked = this.#parked.get(origin)
    if ((parked === undefined || parked.length === 0) && this.#mayStart(origin)) {
      this.#take(origin)
      return 'start'
    }
    if ((parked?.length ?? 0) >= this.#limits.parkCap) return 'overflow'
    const queue = parked ?? []
    queue.push({ item, seq: this.#seq++, at: Date.now() })
    this.#parked.set(origin, queue)
    if (queue.length >= this.#limits.parkCap) this.#crowded.add(origin)
    return 'park'
  }

  /**
   * An attempt to `origin` ended: its slot is free. `answered`: the receiver gave an HTTP answer (any status)
   * in time; false for a timeout, a broken connection or a refusal; null when the row was never sent.
   */
  release (origin: string, answered: boolean | null): void {
    const inFlight = (this.#inFlight.get(origin) ?? 1) - 1
    if (inFlight <= 0) this.#inFlight.delete(origin)
    else this.#inFlight.set(origin, inFlight)
    this.#total = Math.max(0, this.#total - 1)
    const window = this.#window.get(origin) ?? 1
    if (answered !== null) this.#window.set(origin, answered ? Math.min(this.#limits.perOrigin, window + 1) : Math.max(1, window >> 1))
    if (inFlight <= 0 && !this.#parked.has(origin) && (this.#window.get(origin) ?? 1) <= 1) this.#window.delete(origin)
    if (this.#window.size > MAX_REMEMBERED) {
      for (const known of this.#window.keys()) if (!this.#inFlight.has(known) && !this.#parked.has(known)) this.#window.delete(known)
    }
  }

  /** Rows parked behind receivers that claims skip: they do not count against a claim's room. */
  parkedCrowded (): number {
    let parked = 0
    for (const origin of this.#crowded) parked += this.#parked.get(origin)?.length ?? 0
    return parked
  }

  /** The parked row that has waited longest among receivers that may start one now, its slot taken; or none. */
  takeNext (): { origin: string; item: T } | undefined {
    let best: { origin: string; head: Parked<T> } | undefined
    // The share depends on every receiver's work: once per call, not once per receiver looked at.
    const share = this.#share()
    for (const [origin, queue] of this.#parked) {
      const head = queue[0]
      if (head === undefined || (best !== undefined && best.head.seq < head.seq) || !this.#mayStart(origin, share)) continue
      best = { origin, head }
    }
    if (best === undefined) return undefined
    this.#unpark(best.origin)
    this.#take(best.origin)
    return { origin: best.origin, item: best.head.item }
  }

  /**
   * Rows parked since before `before` (ms since the epoch), removed: a receiver whose share shrank could
   * otherwise keep them past their lease. The caller hands them back to the database.
   */
  expire (before: number): T[] {
    const expired: T[] = []
    for (const origin of [...this.#parked.keys()]) {
      const queue = this.#parked.get(origin) as Parked<T>[]
      while (queue.length > 0 && (queue[0] as Parked<T>).at < before) {
        expired.push((queue[0] as Parked<T>).item)
        this.#unpark(origin)
      }
    }
    return expired
  }

  /** Every row parked behind `origin`, removed (its receiver asked for air); the caller hands them back. */
  drain (origin: string): T[] {
    const drained: T[] = []
    while (this.#parked.has(origin)) {
      drained.push(((this.#parked.get(origin) as Parked<T>[])[0] as Parked<T>).item)
      this.#unpark(origin)
    }
    return drained
  }

  /** Origins whose rows claims should skip for now. */
  crowded (): string[] {
    return [...this.#crowded]
  }

  /**
   * How many rows a claim can take without overflowing, assuming they all go to the busiest receiver
   * (a flood to one receiver is the case that matters; a mix of receivers only overflows less).
   */
  claimRoom (): number {
    let busiest = 0
    for (const [origin, inFlight] of this.#inFlight) {
      if (!this.#crowded.has(origin)) busiest = Math.max(busiest, inFlight + (this.#parked.get(origin)?.length ?? 0))
    }
    return this.#limits.perOrigin + this.#limits.parkCap - busiest
  }

  #mayStart (origin: string, share?: number): boolean {
    const { slots, reserve } = this.#limits
    if (this.#total >= slots) return false
    const mine = this.#inFlight.get(origin) ?? 0
    if (mine === 0) return true
    return this.#total < slots - reserve && mine < Math.min(this.#window.get(origin) ?? 1, share ?? this.#share())
  }

  /** The non-reserved slots divided among the receivers with work (in flight or parked), within perOrigin. */
  #share (): number {
    let withWork = this.#inFlight.size
    for (const [origin, queue] of this.#parked) if (queue.length > 0 && !this.#inFlight.has(origin)) withWork++
    const { slots, reserve, perOrigin } = this.#limits
    return Math.max(1, Math.min(perOrigin, Math.ceil((slots - reserve) / Math.max(1, withWork))))
  }

  #take (origin: string): void {
    this.#inFlight.set(origin, (this.#inFlight.get(origin) ?? 0) + 1)
    this.#total += 1
  }

  #unpark (origin: string): void {
    const queue = this.#parked.get(origin)
    queue?.shift()
    const left = queue?.length ?? 0
    if (left <= this.#limits.parkCap >> 1) this.#crowded.delete(origin)
    if (left === 0) this.#parked.delete(origin)
  }
}
