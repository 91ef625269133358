import t from 'tap'
import { OriginGate } from '../../src/dispatch/origin-gate.js'

const limits = (slots: number, perOrigin: number, parkCap: number, reserve: number) => ({ slots, perOrigin, parkCap, reserve })

/** A receiver that answered `answers` attempts, one at a time: it has earned that many more slots (within its share). */
function warm (gate: OriginGate<string>, origin: string, answers: number): void {
  for (let i = 0; i < answers; i++) {
    gate.admit(origin, `${origin}-warm`)
    gate.release(origin, true)
  }
}

t.test('a receiver earns its slots: one at first, one more per answer, halved per attempt it never answers', async (t) => {
  const gate = new OriginGate<string>(limits(16, 8, 16, 4))
  t.same(['h1', 'h2', 'h3'].map((item) => gate.admit('hang', item)), ['start', 'park', 'park'], 'a new receiver has one slot')
  gate.release('hang', false)
  t.same(gate.takeNext(), { origin: 'hang', item: 'h2' }, 'its slot back after a timeout, for one attempt again')
  t.equal(gate.takeNext(), undefined, 'never two at once while it does not answer')

  warm(gate, 'fast', 3)
  t.same(['f1', 'f2', 'f3', 'f4', 'f5'].map((item) => gate.admit('fast', item)), ['start', 'start', 'start', 'start', 'park'],
    'three answers: four in flight')
  for (let i = 0; i < 4; i++) gate.release('fast', false)
  t.same(gate.takeNext(), { origin: 'fast', item: 'f5' }, 'after timeouts it is back to few slots')
  t.same(gate.admit('fast', 'f6'), 'park')
})

t.test('admission: the share, the reserve for newcomers, parking and overflow', async (t) => {
  // 8 slots, 2 kept for receivers with nothing in flight: one receiver alone takes at most 4 (perOrigin).
  const gate = new OriginGate<string>(limits(8, 4, 4, 2))
  warm(gate, 'a', 8)
  warm(gate, 'b', 8)
  const cases: Array<[string, string, 'start' | 'park' | 'overflow', string]> = [
    ['a', 'a1', 'start', 'a receiver with nothing in flight starts'],
    ['a', 'a2', 'start', 'within its share (6 non-reserved slots, one receiver: capped at 4)'],
    ['a', 'a3', 'start', ''],
    ['a', 'a4', 'start', ''],
    ['a', 'a5', 'park', 'perOrigin reached'],
    ['b', 'b1', 'start', 'another receiver starts'],
    ['b', 'b2', 'start', 'total 6 of the 6 non-reserved'],
    ['b', 'b3', 'park', 'only the reserve is left, and b has work in flight'],
    ['c', 'c1', 'start', 'a newcomer takes a reserved slot'],
    ['d', 'd1', 'start', 'and another: the reserve is what keeps newcomers served'],
    ['e', 'e1', 'park', 'every slot taken'],
    ['a', 'a6', 'park', ''],
    ['a', 'a7', 'park', ''],
    ['a', 'a8', 'park', 'a has 4 parked: crowded'],
    ['a', 'a9', 'overflow', 'beyond the parking cap: back to the database'],
  ]
  for (const [origin, item, expected, why] of cases) t.equal(gate.admit(origin, item), expected, `${item}: ${why}`)
  t.same(gate.crowded(), ['a'])
  t.equal(gate.parkedCrowded(), 4)
})

t.test('a freed slot goes to the row that waited longest among receivers that may take it', async (t) => {
  const gate = new OriginGate<string>(limits(4, 2, 8, 1))
  warm(gate, 'hang', 4)
  warm(gate, 'other', 4)
  for (const item of ['h1', 'h2']) gate.admit('hang', item)
  t.equal(gate.admit('other', 'o1'), 'start', 'total 3 = slots - reserve')
  t.equal(gate.admit('hang', 'h3'), 'park')
  t.equal(gate.admit('other', 'o2'), 'park', 'other has one in flight and the rest is reserve')
  t.equal(gate.admit('new', 'n1'), 'start', 'the reserved slot goes to a receiver with nothing in flight')
  gate.release('hang', true)
  t.equal(gate.takeNext(), undefined, 'the slot freed is a reserved one, and both waiting receivers have work in flight')
  gate.release('new', true)
  t.same(gate.takeNext(), { origin: 'hang', item: 'h3' }, 'a non-reserved slot: the row that waited longest (h3 before o2)')
  t.equal(gate.takeNext(), undefined)
  gate.release('hang', true)
  t.same(gate.takeNext(), { origin: 'other', item: 'o2' }, 'hang\'s freed slot goes to the other receiver\'s waiting row')
})

t.test('crowding ends at half the cap; expired parked rows are handed back', async (t) => {
  const gate = new OriginGate<string>(limits(2, 1, 4, 1))
  for (const item of ['x1', 'x2', 'x3', 'x4', 'x5']) gate.admit('x', item)
  t.same(gate.crowded(), ['x'])
  gate.release('x', true)
  t.same(gate.takeNext(), { origin: 'x', item: 'x2' })
  t.same(gate.crowded(), ['x'], 'three still parked')
  t.same(gate.expire(Date.now() + 1), ['x3', 'x4', 'x5'], 'rows parked before the limit come back, oldest first')
  t.same(gate.crowded(), [], 'and crowding ends')
  t.same(gate.expire(Date.now() + 1), [], 'none left')
})

t.test('claim room: the full share when idle, none while the busiest receiver is full', async (t) => {
  const gate = new OriginGate<string>(limits(6, 3, 6, 1))
  t.equal(gate.claimRoom(), 9)
  for (let i = 0; i < 5; i++) gate.admit('slow', `s${i}`)
  t.equal(gate.claimRoom(), 4)
  for (let i = 5; i < 9; i++) gate.admit('slow', `s${i}`)
  t.same(gate.crowded(), ['slow'])
  t.equal(gate.claimRoom(), 9, 'a crowded receiver is skipped by claims, so it does not shrink them')
})
