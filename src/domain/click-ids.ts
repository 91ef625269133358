import { randomBytes } from 'node:crypto'

// A click id (contract §1): 24 lowercase hex characters, the first 8 the click's time in unix seconds, the
// other 16 from a CSPRNG. The time makes ids sort by time, which keeps inserts at the right edge of the
// clicks' indexes, and names the one time partition that can hold the click; the 64 random bits keep ids
// unguessable: a guesser who knows the second of a click still faces 2^64 values for it.

const RANDOM_BYTES = 8
// One randomBytes call per 4096 click ids instead of one per click.
const POOL_BYTES = RANDOM_BYTES * 4096
let pool = randomBytes(POOL_BYTES)
let offset = 0

/** A new click id for a click made at `at`. */
export function newClickId (at: Date): string {
  if (offset + RANDOM_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES)
    offset = 0
  }
  const random = pool.toString('hex', offset, offset + RANDOM_BYTES)
  offset += RANDOM_BYTES
  return clickIdSecondsHex(Math.floor(at.getTime() / 1000)) + random
}

function clickIdSecondsHex (seconds: number): string {
  // Unix seconds fit 8 hex digits until 2106; the modulo keeps the shape beyond (the contract fixes 24 characters).
  return (seconds % 0x1_0000_0000).toString(16).padStart(8, '0')
}

/**
 * The time a click id carries: the start of the second in which its click was made. Null for text that is not
 * a click id. Any 24 hex characters name a second (an id minted by another system names one at random), so a
 * lookup by this time finds exactly the clicks this service made with the id.
 */
export function clickIdTime (id: string): Date | null {
  if (!/^[0-9a-fA-F]{24}$/.test(id)) return null
  return new Date(parseInt(id.slice(0, 8), 16) * 1000)
}
