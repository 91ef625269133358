// Every status the API and the database know, written once: the schemas' enums are these lists, the types
// are derived from them, and the migration's CHECK constraints spell the same values.

/** Whether an advertiser's offers take traffic. */
export const ADVERTISER_STATUSES = ['active', 'inactive'] as const
export type AdvertiserStatus = (typeof ADVERTISER_STATUSES)[number]
/** An offer takes clicks and conversions only while `active`. */
export const OFFER_STATUSES = ['active', 'paused', 'stopped'] as const
export type OfferStatus = (typeof OFFER_STATUSES)[number]
/** An affiliate's clicks and conversions count only while `active`. */
export const AFFILIATE_STATUSES = ['active', 'inactive', 'banned'] as const
export type AffiliateStatus = (typeof AFFILIATE_STATUSES)[number]

export const CONVERSION_STATUSES = ['approved', 'pending', 'declined', 'hold'] as const
export type ConversionStatus = (typeof CONVERSION_STATUSES)[number]
export type StatusNumber = 1 | 2 | 3 | 5

/** A postback delivery's state; `skipped`: written for a disabled postback, never sent. */
export const DELIVERY_STATES = ['pending', 'delivered', 'failed', 'cancelled', 'skipped'] as const
export type DeliveryState = (typeof DELIVERY_STATES)[number]

// Affise's numbering: 4 was never used, so hold is 5.
const NUMBER_OF: Readonly<Record<ConversionStatus, StatusNumber>> = { approved: 1, pending: 2, declined: 3, hold: 5 }

const POSTBACK_STATUS = new Map<string, ConversionStatus>([
  ['1', 'approved'],
  ['approved', 'approved'],
  ['confirmed', 'approved'],
  ['2', 'pending'],
  ['pending', 'pending'],
  ['3', 'declined'],
  ['declined', 'declined'],
  ['5', 'hold'],
  ['hold', 'hold'],
])

export function isConversionStatus (value: unknown): value is ConversionStatus {
  return typeof value === 'string' && Object.hasOwn(NUMBER_OF, value)
}

/** The number the affiliate `{status}` macro carries. */
export function statusNumber (s: ConversionStatus): StatusNumber {
  return NUMBER_OF[s]
}

/** An advertiser's `status`: the number, or the name in any case (`confirmed` is approved); else null. */
export function parsePostbackStatus (raw: string): ConversionStatus | null {
  return POSTBACK_STATUS.get(raw.toLowerCase()) ?? null
}
