import t from 'tap'
import { Batcher, type BatchAnswer } from '../../src/lib/batcher.js'

/** A write that holds every batch until released, answering each item with ten times itself. */
function heldWrite () {
  const batches: number[][] = []
  const held: (() => void)[] = []
  const write = (items: number[]): Promise<BatchAnswer<number, number>> => {
    batches.push(items)
    return new Promise((resolve) => { held.push(() => resolve((item) => item * 10)) })
  }
  const releaseAll = () => { for (const release of held.splice(0)) release() }
  return { batches, write, held, releaseAll }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

t.test('group commit: the first item goes at once, the rest accumulate while writes are in flight', async (t) => {
  const cases: [name: string, maxBatch: number, maxConcurrent: number, items: number, batches: number[][]][] = [
    ['one item, alone', 10, 1, 1, [[0]]],
    ['one write at a time: the rest go together in the next', 10, 1, 5, [[0], [1, 2, 3, 4]]],
    ['at most maxBatch per batch', 2, 1, 6, [[0], [1, 2], [3, 4], [5]]],
    ['maxConcurrent writes at once, each first item alone', 10, 2, 5, [[0], [1], [2, 3, 4]]],
    ['maxConcurrent writes of maxBatch', 2, 2, 7, [[0], [1], [2, 3], [4, 5], [6]]],
  ]
  for (const [name, maxBatch, maxConcurrent, count, batches] of cases) {
    const write = heldWrite()
    const batcher = new Batcher(write.write, { maxBatch, maxConcurrent })
    const results = Array.from({ length: count }, (_, i) => batcher.add(i))
    while (write.held.length > 0) {
      t.ok(write.held.length <= maxConcurrent, `${name}: at most ${maxConcurrent} in flight`)
      write.releaseAll()
      await turn()
    }
    t.same(write.batches, batches, name)
    t.same(await Promise.all(results), Array.from({ length: count }, (_, i) => i * 10), `${name}: each item its own answer`)
  }
})

t.test('failures: a rejected write fails its batch only, a throwing answer its item only', async (t) => {
  const batches: number[][] = []
  const batcher = new Batcher<number, string>(async (items) => {
    batches.push(items)
    if (items.includes(1)) throw new Error('batch failed')
    return (item) => {
      if (item === 3) throw new Error('item 3 refused')
      return `ok ${item}`
    }
  }, { maxBatch: 2, maxConcurrent: 1 })
  const results = await Promise.allSettled([0, 1, 2, 3, 4].map((item) => batcher.add(item)))
  t.same(batches, [[0], [1, 2], [3, 4]])
  t.same(results.map((r) => r.status === 'fulfilled' ? r.value : (r.reason as Error).message), [
    'ok 0', 'batch failed', 'batch failed', 'item 3 refused', 'ok 4',
  ])
})

t.test('idle: at once when nothing waits, else once everything handed in so far is written', async (t) => {
  const write = heldWrite()
  const batcher = new Batcher(write.write, { maxBatch: 10, maxConcurrent: 1 })
  let idle = false
  await batcher.idle()
  void batcher.add(1)
  void batcher.add(2)
  void batcher.idle().then(() => { idle = true })
  write.releaseAll()
  await turn()
  t.notOk(idle, 'the second batch is still in flight')
  void batcher.add(3)
  write.releaseAll()
  await turn()
  t.notOk(idle, 'an item handed in meanwhile is waited for too')
  write.releaseAll()
  await turn()
  t.ok(idle)
  t.same(write.batches, [[1], [2], [3]])
})
