import t from 'tap'
import {
  CONVERSION_STATUSES,
  isConversionStatus,
  parsePostbackStatus,
  statusNumber,
  type ConversionStatus,
} from '../../src/domain/statuses.js'

t.test('statusNumber follows Affise', async (t) => {
  const cases: [ConversionStatus, number][] = [
    ['approved', 1],
    ['pending', 2],
    ['declined', 3],
    ['hold', 5],
  ]
  for (const [status, n] of cases) t.equal(statusNumber(status), n, status)
  t.same([...CONVERSION_STATUSES].sort(), cases.map(([s]) => s).sort(), 'the list has every status once')
})

t.test('parsePostbackStatus', async (t) => {
  const cases: [string, ConversionStatus | null][] = [
    ['1', 'approved'],
    ['approved', 'approved'],
    ['APPROVED', 'approved'],
    ['confirmed', 'approved'],
    ['Confirmed', 'approved'],
    ['2', 'pending'],
    ['pending', 'pending'],
    ['PenDing', 'pending'],
    ['3', 'declined'],
    ['declined', 'declined'],
    ['DECLINED', 'declined'],
    ['5', 'hold'],
    ['hold', 'hold'],
    ['Hold', 'hold'],
    ['', null],
    ['0', null],
    ['4', null],
    ['6', null],
    ['01', null],
    ['1.0', null],
    [' 1', null],
    ['approved ', null],
    ['rejected', null],
    ['canceled', null],
    ['constructor', null],
    ['__proto__', null],
  ]
  for (const [raw, expected] of cases) t.equal(parsePostbackStatus(raw), expected, JSON.stringify(raw))
})

t.test('isConversionStatus', async (t) => {
  const cases: [unknown, boolean][] = [
    ['approved', true],
    ['hold', true],
    ['Approved', false],
    ['confirmed', false],
    ['toString', false],
    [1, false],
    [null, false],
  ]
  for (const [value, ok] of cases) t.equal(isConversionStatus(value), ok, String(value))
})
