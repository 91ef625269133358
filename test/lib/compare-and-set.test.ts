import t from 'tap'
import { CHANGED, retryWhileChanged } from '../../src/lib/compare-and-set.js'

t.test('retryWhileChanged: the first result other than CHANGED, or the exhausted error after the last round', async (t) => {
  const exhausted = new Error('kept changing')
  const cases: [name: string, answers: (string | undefined | typeof CHANGED)[], rounds: number, outcome: string | undefined | Error, attempts: number][] = [
    ['settled at once', ['done'], 4, 'done', 1],
    ['undefined is a result, not a retry', [undefined], 4, undefined, 1],
    ['changed twice, then settled', [CHANGED, CHANGED, 'done'], 4, 'done', 3],
    ['settled in the last round', [CHANGED, CHANGED, CHANGED, 'done'], 4, 'done', 4],
    ['changed in every round', [CHANGED, CHANGED, CHANGED, CHANGED, 'never asked'], 4, exhausted, 4],
    ['no rounds at all', ['never asked'], 0, exhausted, 0],
  ]
  for (const [name, answers, rounds, outcome, attempts] of cases) {
    const seen: number[] = []
    const run = retryWhileChanged(rounds, async (round) => {
      seen.push(round)
      return answers[round] as string | undefined | typeof CHANGED
    }, () => exhausted)
    if (outcome instanceof Error) await t.rejects(run, outcome, name)
    else t.equal(await run, outcome, name)
    t.same(seen, Array.from({ length: attempts }, (_, i) => i), `${name}: rounds numbered from 0`)
  }
})

t.test('retryWhileChanged: an attempt that throws ends the loop with its error', async (t) => {
  let calls = 0
  await t.rejects(retryWhileChanged(4, async () => {
    calls++
    throw new Error('not found')
  }, () => new Error('kept changing')), { message: 'not found' })
  t.equal(calls, 1)
})
