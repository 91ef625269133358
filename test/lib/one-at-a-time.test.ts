import t from 'tap'
import { oneAtATime } from '../../src/lib/one-at-a-time.js'

/** A job whose runs end when the test says so, recording when each starts and ends. */
function gatedJob () {
  const events: string[] = []
  const gates: (() => void)[] = []
  const job = oneAtATime(async (name: string, fail = false) => {
    events.push(`start ${name}`)
    await new Promise<void>((resolve) => gates.push(resolve))
    events.push(`end ${name}`)
    if (fail) throw new Error(`${name} failed`)
    return name
  })
  const open = async () => {
    // Let the queued run start (it begins on a later microtask), then end it.
    for (let i = 0; i < 10 && gates.length === 0; i++) await Promise.resolve()
    gates.shift()?.()
  }
  return { job, events, open }
}

t.test('oneAtATime: a call during a run waits for it, then runs; busy while any is under way', async (t) => {
  const { job, events, open } = gatedJob()
  t.equal(job.busy, false, 'idle at first')
  const first = job.run('a')
  const second = job.run('b')
  t.equal(job.busy, true)
  await open()
  t.equal(await first, 'a')
  t.same(events, ['start a', 'end a'], 'b has not started while a ran')
  await open()
  t.equal(await second, 'b')
  t.same(events, ['start a', 'end a', 'start b', 'end b'])
  await job.settled()
  t.equal(job.busy, false, 'idle again')
})

t.test('oneAtATime: a failed run rejects its own caller only; the next still runs, and settled() never rejects', async (t) => {
  const { job, events, open } = gatedJob()
  const failing = job.run('a', true)
  const next = job.run('b')
  const settled = job.settled()
  await open()
  await t.rejects(failing, /a failed/)
  await open()
  t.equal(await next, 'b', 'the run queued behind a failure')
  await settled
  t.same(events, ['start a', 'end a', 'start b', 'end b'])
  t.equal(job.busy, false)
})
