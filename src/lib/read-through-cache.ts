interface Entry<V> {
  value: V | null
  expires: number
}

/**
 * A read-through cache of one kind of row. Loads for the same key share one query. An invalidation that
 * arrives while a load is in flight wins: the loaded value is handed to its callers but not kept, since it
 * may predate the change. An expired or invalidated entry is reloaded on the next read; only when that
 * reload fails (the database is down) is the last known value served.
 */
export class ReadThroughCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>()
  private readonly loading = new Map<K, Promise<V | null>>()
  private epoch = 0

  constructor (
    private readonly load: (key: K) => Promise<V | undefined>,
    private readonly ttlMs: number,
    private readonly missTtlMs: number,
    private readonly maxEntries: number
  ) {}

  get (key: K): V | null | Promise<V | null> {
    const entry = this.entries.get(key)
    if (entry !== undefined && entry.expires > Date.now()) return entry.value
    return this.loading.get(key) ?? this.fetch(key)
  }

  invalidate (key: K): void {
    this.epoch += 1
    const entry = this.entries.get(key)
    if (entry !== undefined) entry.expires = 0
    this.loading.delete(key)
  }

  clear (): void {
    this.epoch += 1
    for (const entry of this.entries.values()) entry.expires = 0
    this.loading.clear()
  }

  private fetch (key: K): Promise<V | null> {
    const startEpoch = this.epoch
    const promise = this.load(key).then(
      (row) => {
        const value = row ?? null
        if (this.loading.get(key) === promise) this.loading.delete(key)
        // Invalidated meanwhile: kept only as the last known value, already expired.
        this.store(key, value, this.epoch === startEpoch)
        return value
      },
      (err: unknown) => {
        if (this.loading.get(key) === promise) this.loading.delete(key)
        const lastKnown = this.entries.get(key)
        if (lastKnown !== undefined) return lastKnown.value
        throw err
      }
    )
    this.loading.set(key, promise)
    return promise
  }

  private store (key: K, value: V | null, fresh: boolean): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
    this.entries.delete(key)
    const ttl = value === null ? this.missTtlMs : this.ttlMs
    this.entries.set(key, { value, expires: fresh ? Date.now() + ttl : 0 })
  }
}
