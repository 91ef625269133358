import t from 'tap'
import { isStorableInstant } from '../../src/domain/storable-time.js'

t.test('isStorableInstant: years 0001 to 9999 in UTC', async (t) => {
  const cases: [string, boolean][] = [
    ['0001-01-01T00:00:00.000Z', true],
    ['2026-06-30T23:59:59.999Z', true],
    ['9999-12-31T23:59:59.999Z', true],
    ['0000-12-31T23:59:59.999Z', false],
    ['+010000-01-01T00:00:00.000Z', false],
    ['-000001-01-01T00:00:00.000Z', false],
    ['+275760-09-13T00:00:00.000Z', false],
  ]
  for (const [time, expected] of cases) t.equal(isStorableInstant(Date.parse(time)), expected, time)
  t.equal(isStorableInstant(Number.NaN), false, 'not a time')
})
