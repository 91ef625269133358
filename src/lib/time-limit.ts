/**
 * Time limits on a wait. The timer is cleared as soon as the wait is over either way, so a limit never keeps
 * the process alive, and the promise keeps its handler: a late rejection is never an unhandled one.
 */

/** The promise's own outcome, or, when it has not settled within `ms`, what `onTimeout` returns or throws. */
export function withTimeout<T> (promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout())
      } catch (err) {
        reject(err)
      }
    }, ms)
  })
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer))
}

const settled = (): boolean => true
const notSettled = (): boolean => false

/** True when `promise` settles (fulfils or rejects) within `ms`, false otherwise. Never rejects. */
export function settleWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(promise.then(settled, settled), ms, notSettled)
}
