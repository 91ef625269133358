import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { settleWithin, withTimeout } from '../../src/lib/time-limit.js'

const never = (): Promise<never> => new Promise(() => {})
const after = <T>(ms: number, value: T): Promise<T> => sleep(ms).then(() => value)
const failAfter = (ms: number, message: string): Promise<never> => sleep(ms).then(() => { throw new Error(message) })

function timersPending (): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
}

t.test('settleWithin: true when the promise settles (either way) within the limit, false otherwise', async (t) => {
  const cases: [name: string, promise: () => Promise<unknown>, ms: number, settled: boolean][] = [
    ['fulfilled already', () => Promise.resolve(1), 50, true],
    ['rejected already', () => Promise.reject(new Error('no')), 50, true],
    ['fulfils in time', () => after(5, 'x'), 1_000, true],
    ['rejects in time', () => failAfter(5, 'no'), 1_000, true],
    ['never settles', never, 10, false],
    ['fulfils too late', () => after(200, 'x'), 10, false],
    ['rejects too late (and the rejection is handled)', () => failAfter(50, 'late'), 10, false],
  ]
  for (const [name, promise, ms, settled] of cases) t.equal(await settleWithin(promise(), ms), settled, name)
  // The late ones settle after their limit; none may surface as an unhandled rejection.
  await sleep(250)
})

t.test('withTimeout: the promise\'s own outcome in time, what onTimeout returns or throws after', async (t) => {
  const timedOut = new Error('timed out')
  const cases: [name: string, promise: () => Promise<string>, onTimeout: () => string, outcome: string | Error][] = [
    ['fulfils in time', () => after(5, 'value'), () => 'fallback', 'value'],
    ['rejects in time', () => failAfter(5, 'own failure'), () => 'fallback', new Error('own failure')],
    ['late: the fallback value', never, () => 'fallback', 'fallback'],
    ['late: the thrown error', never, () => { throw timedOut }, timedOut],
  ]
  for (const [name, promise, onTimeout, outcome] of cases) {
    const result = withTimeout(promise(), 20, onTimeout)
    if (outcome instanceof Error) await t.rejects(result, { message: outcome.message }, name)
    else t.equal(await result, outcome, name)
  }
})

t.test('no timer is left behind, whichever side wins', async (t) => {
  const before = timersPending()
  await withTimeout(Promise.resolve('done'), 60_000, () => 'late')
  await settleWithin(Promise.resolve(), 60_000)
  await withTimeout(never(), 1, () => 'late')
  t.equal(timersPending(), before)
})
