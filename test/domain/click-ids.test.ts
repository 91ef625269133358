import t from 'tap'
import { clickIdTime, newClickId } from '../../src/domain/click-ids.js'

t.test('a click id carries the second of its click and sorts by time', async (t) => {
  const cases: Array<[string, Date, string]> = [
    ['the epoch', new Date(0), '00000000'],
    ['a time with milliseconds (floored to its second)', new Date('2026-12-05T17:30:00.999Z'), (Date.UTC(2026, 11, 5, 17, 30) / 1000).toString(16)],
    ['the last second 8 hex digits hold', new Date(0xffffffff * 1000), 'ffffffff'],
  ]
  for (const [what, at, prefix] of cases) {
    const id = newClickId(at)
    t.match(id, /^[0-9a-f]{24}$/, `${what}: 24 lowercase hex`)
    t.equal(id.slice(0, 8), prefix, `${what}: starts with its second`)
    t.equal(clickIdTime(id)?.getTime(), Math.floor(at.getTime() / 1000) * 1000, `${what}: the time read back`)
  }
  const times = [1_790_000_000_000, 0, 86_400_000, 1000, 1_790_000_001_500].map((ms) => new Date(ms))
  const ids = times.map((at) => newClickId(at))
  const byTime = times.map((at, i) => ({ at: at.getTime(), id: ids[i] })).sort((a, b) => a.at - b.at).map((x) => x.id)
  t.same([...ids].sort(), byTime, 'ids of later seconds sort after, as text')
  t.not(newClickId(times[0] as Date), newClickId(times[0] as Date), 'two clicks in one second get different ids')
})

t.test('the 64 random bits differ between ids of one second', async (t) => {
  const at = new Date()
  const tails = new Set(Array.from({ length: 10_000 }, () => newClickId(at).slice(8)))
  t.equal(tails.size, 10_000, 'no repeat among 10,000 ids of one second')
})

t.test('only click ids carry a time', async (t) => {
  for (const text of ['', 'abc', '5ec25b044a4f2b00012111', '5ec25b044a4f2b0001211111z', 'zzzzzzzzzzzzzzzzzzzzzzzz', '5ec25b04-4a4f2b0001211111']) {
    t.equal(clickIdTime(text), null, JSON.stringify(text))
  }
  t.same(clickIdTime('5EC25B044A4F2B0001211111'), new Date(0x5ec25b04 * 1000), 'upper case reads alike')
})
