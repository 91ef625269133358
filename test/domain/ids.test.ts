import t from 'tap'
import { parseEntityId } from '../../src/domain/ids.js'

t.test('entity ids from query strings: positive int4 in decimal, leading zeros allowed', async (t) => {
  const cases: [string | null | undefined, number | null][] = [
    ['1', 1], ['12', 12], ['012', 12], ['0000000001', 1], ['2147483647', 2147483647], ['02147483647', 2147483647],
    ['0', null], ['00', null], ['-1', null], ['+1', null], ['1.5', null], ['1e3', null], ['0x1f', null], [' 1', null],
    ['1 ', null], ['', null], ['abc', null], ['2147483648', null], ['99999999999', null], ['١٢', null], [null, null], [undefined, null],
    ['00000000000001', null],
  ]
  for (const [text, expected] of cases) t.equal(parseEntityId(text), expected, JSON.stringify(text))
})
