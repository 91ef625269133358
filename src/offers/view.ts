import { advertiserPostbackUrl } from '../domain/links.js'
import { amountFromDb, amountToJson } from '../domain/money.js'
import type { OfferGoalRow, TrackingDomainRow } from '../db/tables.js'
import type { OfferWithGoals, PostbackUrlContext } from './repository.js'

export function goalToApi (goal: OfferGoalRow) {
  return {
    value: goal.value,
    title: goal.title,
    type: goal.type,
    revenue: amountToJson(amountFromDb(goal.revenue)),
    payout: amountToJson(amountFromDb(goal.payout)),
  }
}

/** `https://host` when the domain allows https, else `http://host`; no domain: PUBLIC_URL verbatim. */
export function domainBase (domain: TrackingDomainRow | undefined, publicUrl: string): string {
  if (domain === undefined) return publicUrl
  return `${domain.allow_https ? 'https' : 'http'}://${domain.hostname}`
}

/** The offer's domain, else the default domain, else PUBLIC_URL; the offer's code, else its advertiser's. */
export function offerPostbackUrl (offer: OfferWithGoals, context: PostbackUrlContext, publicUrl: string): string {
  const domain = offer.tracking_domain_id === null ? context.defaultDomain : context.domains.get(offer.tracking_domain_id)
  const secureCode = offer.secure_code ?? context.advertiserCodes.get(offer.advertiser_id) ?? null
  return advertiserPostbackUrl(domainBase(domain ?? context.defaultDomain, publicUrl), secureCode)
}

/** The admin API view of an offer; `advertiserPostbackUrl` from `offerPostbackUrl`. */
export function offerToApi (offer: OfferWithGoals, advertiserPostbackUrl: string) {
  return {
    id: offer.id,
    advertiser_id: offer.advertiser_id,
    title: offer.title,
    url: offer.url,
    trafficback_url: offer.trafficback_url,
    status: offer.status,
    tracking_domain_id: offer.tracking_domain_id,
    currency: offer.currency,
    default_conversion_status: offer.default_conversion_status,
    allow_duplicate_conversions: offer.allow_duplicate_conversions,
    probabilistic_attribution: offer.probabilistic_attribution,
    secure_code: offer.secure_code,
    hold_period_days: offer.hold_period_days,
    goals: offer.goals.map(goalToApi),
    click_session: offer.click_session,
    caps: offer.caps,
    advertiser_postback_url: advertiserPostbackUrl,
    created_at: offer.created_at,
    updated_at: offer.updated_at,
  }
}

/** The affiliate panel's view: no URL, revenue or secure code. */
export function offerToPanel (offer: OfferWithGoals) {
  return {
    id: offer.id,
    title: offer.title,
    status: offer.status,
    currency: offer.currency,
    goals: offer.goals.map((goal) => ({
      value: goal.value,
      title: goal.title,
      type: goal.type,
      payout: amountToJson(amountFromDb(goal.payout)),
    })),
  }
}
