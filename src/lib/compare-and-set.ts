/**
 * Optimistic updates: read, decide, write only if what was read still holds. An attempt that finds the row
 * changed under it returns CHANGED, and the next round reads again; a row that keeps changing ends the loop
 * with the caller's error (a 409), rather than holding a lock across the decision.
 */

/** What an attempt returns when its compare-and-set found the row changed: read and decide again. */
export const CHANGED: unique symbol = Symbol('changed')

/** The first result of `attempt` other than CHANGED, in at most `rounds` rounds (0, 1, ...); else `exhausted()` thrown. */
export async function retryWhileChanged<T> (
  rounds: number,
  attempt: (round: number) => Promise<T | typeof CHANGED>,
  exhausted: () => Error
): Promise<T> {
  for (let round = 0; round < rounds; round++) {
    const result = await attempt(round)
    if (result !== CHANGED) return result
  }
  throw exhausted()
}
