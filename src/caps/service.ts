import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { capPeriod, capsFromStored, capUsage, counterKey, type Cap } from '../domain/caps.js'
import { amountFromDb, type Amount } from '../domain/money.js'
import type { StoredCap } from '../db/tables.js'
import { lockConversionCounters, offerCounterText, readCounters, type OfferCounterKey } from './repository.js'

/** A cap with what it has counted in the current period. */
export interface CapStatus {
  cap: Cap
  stored: StoredCap
  used: Amount
  remaining: Amount
  periodStart: Date
  periodEnd: Date | null
  /** Per-affiliate caps: each affiliate's count so far in the period. */
  byAffiliate?: { affiliateId: number; used: Amount; remaining: Amount }[]
}

async function perAffiliateCounters (db: Db, offerId: number, key: OfferCounterKey): Promise<Map<number, Amount>> {
  const rows = await sql<{ affiliate_id: number; used: string }>`
    select affiliate_id, used from cap_counters
    where offer_id = ${offerId} and metric = ${key.metric} and period = ${key.period} and goal = ${key.goal}
      and period_start = ${key.periodStart.toISOString()}::timestamptz and affiliate_id <> 0
    order by affiliate_id`.execute(db)
  return new Map(rows.rows.map((row) => [row.affiliate_id, amountFromDb(row.used)]))
}

/**
 * The caps of an offer with what each has counted in its current period. For `affiliateId`, a per-affiliate
 * cap counts that affiliate's traffic; without it, the most any one affiliate has counted (so `remaining` is
 * the least any has left), with each affiliate's count beside it. Conversions and payout counters are made
 * (from the conversions already in the period) when missing, exactly as a conversion would find them.
 */
export async function capStatuses (
  db: Db, offer: { id: number; caps: readonly StoredCap[] }, now: Date, affiliateId?: number
): Promise<CapStatus[]> {
  if (offer.caps.length === 0) return []
  const caps = capsFromStored(offer.caps)
  const keyOf = (cap: Cap): OfferCounterKey | null => {
    const affiliate = cap.affiliate_id ?? (cap.per_affiliate ? affiliateId : 0)
    return affiliate === undefined ? null : { ...counterKey(cap, affiliate, now), offerId: offer.id }
  }
  const keys = caps.map(keyOf)
  const conversionKeys = keys.filter((key): key is OfferCounterKey => key !== null && key.metric !== 'clicks')
  const clickKeys = keys.filter((key): key is OfferCounterKey => key !== null && key.metric === 'clicks')
  const counters = new Map<string, Amount>([
    ...(conversionKeys.length === 0 ? [] : await db.transaction().execute((trx) => lockConversionCounters(trx, conversionKeys))),
    ...(await readCounters(db, clickKeys)),
  ])
  const statuses: CapStatus[] = []
  for (const [i, cap] of caps.entries()) {
    const period = capPeriod(cap.period, now)
    const key = keys[i]
    const base = { cap, stored: offer.caps[i] as StoredCap, periodStart: period.start, periodEnd: period.end }
    if (key !== null && key !== undefined) {
      statuses.push({ ...base, ...capUsage(cap, counters.get(offerCounterText(key)) ?? 0n) })
      continue
    }
    const each = await perAffiliateCounters(db, offer.id, { ...counterKey(cap, 0, now), offerId: offer.id })
    const byAffiliate = [...each].map(([id, used]) => ({ affiliateId: id, ...capUsage(cap, used) }))
    const most = byAffiliate.reduce((max, entry) => (entry.used > max ? entry.used : max), 0n)
    statuses.push({ ...base, ...capUsage(cap, most), byAffiliate })
  }
  return statuses
}

/** The caps that apply to an affiliate: every affiliate's, and those naming it. */
export function capsApplyingTo (caps: readonly StoredCap[], affiliateId: number): StoredCap[] {
  return caps.filter((cap) => cap.affiliate_id === null || cap.affiliate_id === affiliateId)
}
