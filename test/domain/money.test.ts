import t from 'tap'
import {
  addAmounts,
  amountFromDb,
  amountToJson,
  formatAmountDb,
  formatAmountPlain,
  parseAmount,
  parsePercent,
  percentOf,
  type Amount,
} from '../../src/domain/money.js'

t.test('parseAmount accepts non-negative decimals with up to 4 significant decimals', async (t) => {
  const cases: [string | number, Amount][] = [
    ['150', 1_500_000n],
    ['0.1', 1_000n],
    ['10.50', 105_000n],
    ['0', 0n],
    ['0.0000', 0n],
    ['000150', 1_500_000n],
    ['9.9975', 99_975n],
    ['0.0001', 1n],
    ['12.500000', 125_000n],
    ['99999999999.9999', 999_999_999_999_999n],
    ['1e2', 1_000_000n],
    ['1.5E+3', 15_000_000n],
    ['25e-4', 25n],
    ['0e999999999', 0n],
    [0, 0n],
    [-0, 0n],
    [0.1, 1_000n],
    [12, 120_000n],
    [1e2, 1_000_000n],
    [0.0001, 1n],
    [1e-4, 1n],
    [9.998, 99_980n],
    [123456.789, 1_234_567_890n],
    [1e10, 100_000_000_000_000n],
    [99999999999.9999, 999_999_999_999_999n],
  ]
  for (const [input, expected] of cases) t.equal(parseAmount(input), expected, JSON.stringify(input))
})

t.test('parseAmount refuses everything else', async (t) => {
  const cases: (string | number)[] = [
    '', ' 1', '1 ', '-1', '+1', '1.', '.5', '1,5', '0x10', '1_000', 'abc', 'NaN', 'Infinity', '١٢',
    '0.00001', '1.23456', '12.345601', '1e-5', '100000000000', '1e11', '1234567890123.4567', '99999999999999.9999', '1e14', '1e999999999', '1e-999999999',
    -1, -0.0001, NaN, Infinity, -Infinity, 1e-7, 0.00001, 1e11, 1e14, 1e21, 123456789012345.6,
  ]
  for (const input of cases) t.equal(parseAmount(input), null, JSON.stringify(String(input)))
  t.equal(parseAmount(null as unknown as string), null, 'null')
  t.equal(parseAmount({} as unknown as string), null, 'object')
})

t.test('parsePercent stays within 0..100', async (t) => {
  const cases: [string | number, Amount | null][] = [
    ['0', 0n],
    ['20', 200_000n],
    ['100', 1_000_000n],
    ['100.0000', 1_000_000n],
    [33.3333, 333_333n],
    ['100.0001', null],
    [101, null],
    ['-1', null],
    ['x', null],
  ]
  for (const [input, expected] of cases) t.equal(parsePercent(input), expected, JSON.stringify(input))
})

t.test('percentOf rounds half-up to 4 decimals', async (t) => {
  const cases: [string, string, string][] = [
    ['150', '20', '30'],
    ['150', '60', '90'],
    ['9.9975', '50', '4.9988'],
    ['9.9973', '50', '4.9987'], // 4.99865 rounds up
    ['9.9971', '50', '4.9986'], // 4.99855 rounds up
    ['0.0001', '50', '0.0001'],
    ['0.0001', '49.9999', '0'],
    ['100', '0', '0'],
    ['0', '100', '0'],
    ['99999999999.9999', '100', '99999999999.9999'],
    ['10', '33.3333', '3.3333'],
    ['0.3', '33.3333', '0.1'],
    ['19.99', '12.5', '2.4988'], // 2.49875
  ]
  for (const [sum, percent, expected] of cases) {
    const result = percentOf(parseAmount(sum) as Amount, parsePercent(percent) as Amount)
    t.equal(formatAmountPlain(result), expected, `${sum} × ${percent}%`)
  }
})

t.test('formatting', async (t) => {
  const cases: [Amount, string, string, number][] = [
    [900_000n, '90', '90.0000', 90],
    [99_980n, '9.998', '9.9980', 9.998],
    [1_000n, '0.1', '0.1000', 0.1],
    [0n, '0', '0.0000', 0],
    [1n, '0.0001', '0.0001', 0.0001],
    [300_000n, '30', '30.0000', 30],
    [12_345_678n, '1234.5678', '1234.5678', 1234.5678],
    [-15_000n, '-1.5', '-1.5000', -1.5],
  ]
  for (const [amount, plain, db, json] of cases) {
    t.equal(formatAmountPlain(amount), plain, `plain ${amount}`)
    t.equal(formatAmountDb(amount), db, `db ${amount}`)
    t.equal(amountToJson(amount), json, `json ${amount}`)
    t.equal(amountFromDb(db), amount, `round trip ${db}`)
  }
})

t.test('amounts add without floats', async (t) => {
  const sum = addAmounts(parseAmount(0.1) as Amount, parseAmount(0.2) as Amount)
  t.equal(amountToJson(sum), 0.3)
  t.equal(formatAmountDb(sum), '0.3000')
})

t.test('amountFromDb reads numeric text', async (t) => {
  const cases: [string, Amount][] = [
    ['30.0000', 300_000n],
    ['0', 0n],
    ['12', 120_000n],
    ['0.5', 5_000n],
    ['1.23455', 12_346n], // an AVG's extra decimals round half-up
    ['1.23454999', 12_345n],
    ['-2.0000', -20_000n],
  ]
  for (const [text, expected] of cases) t.equal(amountFromDb(text), expected, text)
  for (const bad of ['', 'abc', '1e5', ' 1', 'NaN']) t.throws(() => amountFromDb(bad), RangeError, JSON.stringify(bad))
})
