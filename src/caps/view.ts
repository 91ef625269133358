import { amountToJson } from '../domain/money.js'
import type { CapStatus } from './service.js'

export function capStatusToApi (status: CapStatus) {
  return {
    ...status.stored,
    used: amountToJson(status.used),
    remaining: amountToJson(status.remaining),
    period_start: status.periodStart,
    period_end: status.periodEnd,
    ...(status.byAffiliate === undefined
      ? {}
      : { by_affiliate: status.byAffiliate.map((entry) => ({ affiliate_id: entry.affiliateId, used: amountToJson(entry.used), remaining: amountToJson(entry.remaining) })) }),
  }
}

/** A cap as the affiliate it applies to sees it: what is left, not what others used. */
export function capStatusToPanel (status: CapStatus) {
  return {
    metric: status.stored.metric,
    period: status.stored.period,
    limit: status.stored.limit,
    per_affiliate: status.stored.per_affiliate || status.stored.affiliate_id !== null,
    goal: status.stored.goal,
    remaining: amountToJson(status.remaining),
    period_start: status.periodStart,
    period_end: status.periodEnd,
  }
}
