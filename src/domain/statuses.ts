/** Whether an advertiser's offers take traffic. */
export type AdvertiserStatus = 'active' | 'inactive'
/** An offer takes clicks and conversions only while `active`. */
export type OfferStatus = 'active' | 'paused' | 'stopped'
/** An affiliate's clicks and conversions count only while `active`. */
export type AffiliateStatus = 'active' | 'inactive' | 'banned'

export type ConversionStatus = 'approved' | 'pending' | 'declined' | 'hold'
export type StatusNumber = 1 | 2 | 3 | 5

export const CONVERSION_STATUSES: readonly ConversionStatus[] = ['approved', 'pending', 'declined', 'hold']

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
