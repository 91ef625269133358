/**
 * The runs of a periodic job, one at a time per instance: a call during a run waits for it and then makes its
 * own (a test's call or a shutdown never overlaps the timer's), and a timer tick can skip while one is busy.
 */
export interface OneAtATime<A extends unknown[], T> {
  run(...args: A): Promise<T>
  /** A run is under way or queued. */
  readonly busy: boolean
  /** Resolves when no run is under way, whatever their outcome. */
  settled(): Promise<void>
}

export function oneAtATime<A extends unknown[], T> (job: (...args: A) => Promise<T>): OneAtATime<A, T> {
  let running: Promise<T> | null = null
  return {
    run (...args: A): Promise<T> {
      const next = (running ?? Promise.resolve()).catch(() => {}).then(() => job(...args))
      running = next
      void next.finally(() => { if (running === next) running = null }).catch(() => {})
      return next
    },
    get busy () { return running !== null },
    async settled () { await running?.catch(() => {}) },
  }
}
