// Entity ids as they arrive in query strings (`pid`, `offer_id`): positive int4, decimal digits only.

export const MAX_ENTITY_ID = 2147483647

/** Digits only, at most 10 of them after any leading zeros (`012` is the numeric id 12; §3 refuses only non-numeric ids). */
const ENTITY_ID = /^0{0,10}[1-9]\d{0,9}$/

/** The id, or null when the text is not a positive int4 in decimal. */
export function parseEntityId (text: string | null | undefined): number | null {
  if (text === null || text === undefined || !ENTITY_ID.test(text)) return null
  const id = Number(text)
  return id <= MAX_ENTITY_ID ? id : null
}
