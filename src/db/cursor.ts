import { invalidInput } from '../domain/errors.js'
import { isStorableInstant } from '../domain/storable-time.js'

// Cursors are opaque to clients: base64url of a JSON array of the last row's sort keys.

const NOT_OURS = 'cursor is not a cursor this service issued'

export function encodeCursor (keys: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(keys)).toString('base64url')
}

export function decodeCursor (cursor: string, shape: readonly ('number' | 'string')[]): (string | number)[] {
  try {
    const keys: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(keys) && keys.length === shape.length && keys.every((key, i) => (typeof key === 'number' ? 'number' : typeof key === 'string' ? 'string' : null) === shape[i])) {
      return keys as (string | number)[]
    }
  } catch {
    // fall through to the refusal below
  }
  throw invalidInput(NOT_OURS, '/cursor')
}

/**
 * A cursor's time key (an ISO 8601 UTC time this service wrote) as an instant. Anything else is refused
 * before it reaches the database, which would fail on it: a year it does not take, a day JavaScript rolls
 * over (02-30 reads as March), a leap second.
 */
export function decodeCursorTime (key: string): Date {
  const ms = Date.parse(key)
  if (!isStorableInstant(ms) || new Date(ms).toISOString().slice(0, 19) !== key.slice(0, 19)) throw invalidInput(NOT_OURS, '/cursor')
  return new Date(ms)
}

/** Decodes a cursor made of a single integer id (the common case: lists ordered by id desc). */
export function decodeIdCursor (cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  const id = decodeCursor(cursor, ['number'])[0] as number
  if (!Number.isSafeInteger(id)) throw invalidInput(NOT_OURS, '/cursor')
  return id
}
