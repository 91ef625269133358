// Money is a bigint of ten-thousandths: numeric(18,4) without ever touching a float.
export type Amount = bigint

/** ISO 4217 codes of currencies in use, as the runtime's ICU lists them (`XYZ` or `AAA` are not currencies). */
export const CURRENCY_CODES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'))

export const AMOUNT_SCALE = 10_000n
export const ZERO_AMOUNT: Amount = 0n
const DECIMALS = 4
/**
 * numeric(18,4) could hold 14 integer digits, but amounts travel as JSON numbers, and a double keeps only 15
 * significant digits exactly: 99,999,999,999.9999 comes back as written, 1,234,567,890,123.4567 would not.
 */
const MAX_INTEGER_DIGITS = 11
const HUNDRED_PERCENT: Amount = 100n * AMOUNT_SCALE

// One grammar for strings and for numbers' shortest repr, which uses exponents (1e+21, 1e-7).
const DECIMAL = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/**
 * A non-negative decimal with at most 4 significant decimals and 11 integer digits, or null.
 * Trailing zeros past the 4th decimal are accepted ("12.500000" is 12.5): the value is exact,
 * while a nonzero 5th decimal would need rounding, which money input never gets silently.
 */
export function parseAmount (input: string | number): Amount | null {
  let text: string
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return null
    text = String(input)
  } else if (typeof input === 'string') {
    text = input
  } else {
    return null
  }
  const match = DECIMAL.exec(text)
  if (match === null) return null
  const fraction = match[2] ?? ''
  let digits = ((match[1] as string) + fraction).replace(/^0+/, '')
  if (digits === '') return 0n
  // The value is digits × 10^-scale.
  let scale = fraction.length - Number(match[3] ?? '0')
  const trimmed = digits.replace(/0+$/, '')
  scale -= digits.length - trimmed.length
  digits = trimmed
  if (scale > DECIMALS) return null
  if (digits.length - scale > MAX_INTEGER_DIGITS) return null
  return BigInt(digits) * 10n ** BigInt(DECIMALS - scale)
}

/** An amount within 0..100, read as a percentage. */
export function parsePercent (input: string | number): Amount | null {
  const amount = parseAmount(input)
  return amount !== null && amount <= HUNDRED_PERCENT ? amount : null
}

/** sum × percent / 100, rounded half-up (away from zero) to 4 decimals. */
export function percentOf (sum: Amount, percent: Amount): Amount {
  // (sum/10^4)·(percent/10^4)/100 scaled back by 10^4 leaves a divisor of 10^6.
  const product = sum * percent
  const divisor = 100n * AMOUNT_SCALE
  const magnitude = (abs(product) + divisor / 2n) / divisor
  return product < 0n ? -magnitude : magnitude
}

export function addAmounts (a: Amount, b: Amount): Amount {
  return a + b
}

/** The form macros use: no trailing zeros ("90", "9.998", "0.1", "0"). */
export function formatAmountPlain (a: Amount): string {
  const [sign, whole, fraction] = split(a)
  const trimmed = fraction.replace(/0+$/, '')
  return trimmed === '' ? `${sign}${whole}` : `${sign}${whole}.${trimmed}`
}

/** The form numeric(18,4) columns take and give back ("30.0000"). */
export function formatAmountDb (a: Amount): string {
  const [sign, whole, fraction] = split(a)
  return `${sign}${whole}.${fraction}`
}

const DB_NUMERIC = /^(-?)(\d+)(?:\.(\d+))?$/

/**
 * Reads PostgreSQL numeric text. Extra decimals (an AVG, a cast) round half-up; anything that is
 * not numeric text is a bug in the query, so it throws rather than inventing a value.
 */
export function amountFromDb (s: string): Amount {
  const match = DB_NUMERIC.exec(s)
  if (match === null) throw new RangeError(`not a numeric value: ${JSON.stringify(s)}`)
  const fraction = match[3] ?? ''
  const kept = BigInt((match[2] as string) + fraction.slice(0, DECIMALS).padEnd(DECIMALS, '0'))
  const roundUp = fraction.length > DECIMALS && (fraction.charCodeAt(DECIMALS) - 48) >= 5
  const magnitude = roundUp ? kept + 1n : kept
  return match[1] === '-' ? -magnitude : magnitude
}

/** For JSON bodies. Beyond about 900 billion a double cannot hold all 4 decimals: the contract still wants numbers. */
export function amountToJson (a: Amount): number {
  return Number(formatAmountPlain(a))
}

function abs (n: bigint): bigint {
  return n < 0n ? -n : n
}

function split (a: Amount): [sign: string, whole: string, fraction: string] {
  const magnitude = abs(a)
  return [
    a < 0n ? '-' : '',
    (magnitude / AMOUNT_SCALE).toString(),
    (magnitude % AMOUNT_SCALE).toString().padStart(DECIMALS, '0'),
  ]
}
