/**
 * The instants a time filter may name: years 0001 to 9999 in UTC. Both engines store more, but outside
 * these years a JavaScript Date is not passed to them as a time they read (year 0 and year 10000 are
 * written in forms PostgreSQL refuses), so such a filter would fail in the database instead of being
 * refused where its field is known.
 */
export const FIRST_STORABLE_MS = Date.parse('0001-01-01T00:00:00.000Z')
export const LAST_STORABLE_MS = Date.parse('9999-12-31T23:59:59.999Z')

export function isStorableInstant (ms: number): boolean {
  return ms >= FIRST_STORABLE_MS && ms <= LAST_STORABLE_MS
}
