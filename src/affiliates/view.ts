import type { AffiliateRow } from '../db/tables.js'

/** The API view of an affiliate: never the key hash. */
export function affiliateToApi (row: AffiliateRow) {
  const { id, name, email, status, created_at, updated_at } = row
  return { id, name, email, status, created_at, updated_at }
}
