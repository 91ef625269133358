import t from 'tap'
import { OriginGate } from '../../src/dispatch/origin-gate.js'

t.test('at most perOrigin in flight, then parked up to the cap, then overflow', async (t) => {
  const gate = new OriginGate<string>(2, 4)
  t.same(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'].map((item) => gate.admit('a', item)),
    ['start', 'start', 'park', 'park', 'park', 'park', 'overflow'])
  t.same(gate.crowded(), ['a'], 'a full parking makes the receiver crowded')
  t.equal(gate.admit('b', 'b1'), 'start', 'another receiver is not held back')
  t.equal(gate.claimRoom(), 6 - 1, 'room is judged on the busiest receiver claims do not skip')
})

t.test('a finished attempt hands its slot to the oldest parked row; crowding ends at half the cap', async (t) => {
  const gate = new OriginGate<string>(1, 4)
  for (const item of ['x1', 'x2', 'x3', 'x4', 'x5']) gate.admit('x', item)
  t.same(gate.crowded(), ['x'])
  t.equal(gate.finish('x', true).item, 'x2')
  t.same(gate.crowded(), ['x'], 'three still parked')
  t.equal(gate.finish('x', true).item, 'x3')
  t.same(gate.crowded(), [], 'two parked: claims may bring more again')
  t.equal(gate.finish('x', false).item, undefined, 'at shutdown nothing new starts')
  t.equal(gate.admit('x', 'x6'), 'start', 'the slot freed by the last finish')
})

t.test('claim room: the full share when idle, none while the busiest receiver is full', async (t) => {
  const gate = new OriginGate<number>(3, 6)
  t.equal(gate.claimRoom(), 9)
  for (let i = 0; i < 5; i++) gate.admit('slow', i)
  t.equal(gate.claimRoom(), 4)
  for (let i = 5; i < 9; i++) gate.admit('slow', i)
  t.same(gate.crowded(), ['slow'])
  t.equal(gate.claimRoom(), 9, 'a crowded receiver is skipped by claims, so it does not shrink them')
})
