import { createHash, timingSafeEqual } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Db } from '../db/database.js'
import type { ConversionRow, ConversionUpdate } from '../db/tables.js'
import { enqueueDeliveries } from '../affiliate-postbacks/enqueue.js'
import { formatAmountDb } from '../domain/money.js'
import { conversionAmounts } from '../domain/payout.js'
import { findClick, type ClickRecord } from '../clicks/repository.js'
import { accessDenied, conflict, notFound, ruleViolation, type DomainError } from '../domain/errors.js'
import type { ClickLookup } from './click-lookup.js'
import type { ConversionWriter } from './conversion-writer.js'
import type { IntakeCache } from './cache.js'
import type { PostbackRequest } from './parse.js'
import {
  findAffiliateStatus, findConversionByKey, findIntakeOffer, holdUntil, insertServerPostback, insertStatusEvent,
  updateConversionIf, type IntakeOffer, type NewConversion, type ServerPostbackEntry,
} from '../conversions/repository.js'
import type { AffiliateStatus, ConversionStatus } from '../domain/statuses.js'
import { DECLINED_BY_ADVERTISER, SESSION_EXPIRED, sessionExpired } from '../domain/caps.js'
import { CHANGED, retryWhileChanged } from '../lib/compare-and-set.js'

export const ACCESS_DENIED = 'Access denied'
export const OFFER_DISABLED = 'Offer disabled'
export const AFFILIATE_DISABLED = 'Affiliate disabled'
export const PROBABILISTIC_DISABLED = 'Probabilistic attribution disabled'
export const GOAL_NOT_FOUND = 'Goal not found'
export const SUM_REQUIRED = 'Sum required'
export const CONVERSION_EXISTS = 'Conversion exists'
export const NOT_PENDING = 'Conversion status is not pending'

export interface IntakeDeps {
  db: Db
  /** The click recorder of this instance, when clicks are recorded here. */
  clickRecorder?: { findBuffered(clickid: string): ClickRecord | undefined; flush(): Promise<void> } | undefined
  /** How long a click recorded on another instance may take to reach the database. */
  clickFlushIntervalMs: number
  /** Finds stored clicks (batched under load). */
  clicks: ClickLookup
  /** Writes new conversions (batched under load). */
  writer: ConversionWriter
  /** Offers and affiliate statuses in memory; without it every postback reads them. */
  cache?: IntakeCache | undefined
  /** The time click sessions and cap periods are judged at. */
  now: () => Date
}

interface IntakeContext {
  offer: IntakeOffer | null
  affiliateStatus: AffiliateStatus | null
}

export interface PostbackOutcome {
  conversion: ConversionRow
  duplicate: boolean
  statusChanged: boolean
}

/** How often a postback is re-judged after losing a race before giving up with a 409. */
const MAX_ROUNDS = 4

interface Attribution {
  offerId: number
  affiliateId: number
  click: ClickRecord | null
}

/**
 * Judges one advertiser postback in the contract's order (after the 400s, which the parser judged) and applies
 * it. The log entry of an accepted postback is written in the same transaction as the change it made; `log`
 * is filled in as the attribution is learnt so the caller can log a rejection with what is known.
 */
export async function applyPostback (deps: IntakeDeps, req: PostbackRequest, log: ServerPostbackEntry): Promise<PostbackOutcome> {
  const { attribution, context } = await attribute(deps, req)
  log.offerId = attribution.offerId
  const { offer, affiliateStatus } = context
  if (offer === null) throw notFound('Offer')
  if (affiliateStatus === null) throw notFound('Affiliate')
  if (offer.secure_code !== null && !secureMatches(req.secure, offer.secure_code)) throw accessDenied(ACCESS_DENIED)
  const key = uniquenessKey(req, offer)
  return retryWhileChanged(MAX_ROUNDS, async (round) => {
    const now = deps.now()
    const creation = prepareCreation(req, offer, affiliateStatus, attribution, now)
    // A creatable conversion is inserted at once: when its key already holds, the insert does nothing and
    // the next round looks the holder up. The lookup comes first only when a rule would refuse a new one.
    const lookFirst = key !== null && (round > 0 || !creation.ok)
    const existing = lookFirst ? await findConversionByKey(deps.db, key) : undefined
    if (existing !== undefined && sameAttribution(existing, attribution)) {
      if (attribution.click === null && !offer.probabilistic_attribution) throw ruleViolation(PROBABILISTIC_DISABLED)
      return (await applyToExisting(deps, req, offer, existing, log)) ?? CHANGED
    }
    if (!creation.ok) throw creation.refusal
    if (existing !== undefined) throw conflict(CONVERSION_EXISTS)
    const caps = offer.caps.length === 0 ? undefined : { caps: offer.caps, at: now }
    const created = await deps.writer.create({ values: creation.conversion, log, caps })
    if (created !== undefined) return { conversion: created.conversion, duplicate: false, statusChanged: false }
    if (key === null) throw new Error('conversion insert did nothing although no uniqueness key applies')
    // Another request took the key first: the next round finds its conversion.
    return CHANGED
  }, () => conflict(CONVERSION_EXISTS))
}

async function attribute (deps: IntakeDeps, req: PostbackRequest): Promise<{ attribution: Attribution; context: IntakeContext }> {
  if (req.clickid === null) {
    // No click query brings the catalog version the cache needs, so these (rarer) postbacks read the database.
    const attribution = { offerId: req.offerId as number, affiliateId: req.affiliateId as number, click: null }
    const [offer, affiliateStatus] = await Promise.all([findIntakeOffer(deps.db, attribution.offerId), findAffiliateStatus(deps.db, attribution.affiliateId)])
    return { attribution, context: { offer: offer ?? null, affiliateStatus: affiliateStatus ?? null } }
  }
  const stored = await deps.clicks.find(req.clickid)
  const click = stored?.click ?? (await findUnstoredClick(deps, req.clickid))
  if (click === undefined) throw notFound('Click')
  const attribution = { offerId: click.offer_id, affiliateId: click.affiliate_id, click }
  // An unstored click brings no catalog version either: read the database then too.
  const cache = stored === undefined ? undefined : deps.cache
  if (stored !== undefined) cache?.observe(stored.catalogVersion)
  const [offer, affiliateStatus] = await Promise.all([
    cache === undefined ? findIntakeOffer(deps.db, click.offer_id) : cache.offers.get(click.offer_id),
    cache === undefined ? findAffiliateStatus(deps.db, click.affiliate_id) : cache.affiliates.get(click.affiliate_id),
  ])
  return { attribution, context: { offer: offer ?? null, affiliateStatus: affiliateStatus ?? null } }
}

/**
 * A click not in the database yet: in this instance's buffer (written now), or on another instance a moment
 * from its flush, so the database is asked once more after one flush interval.
 */
async function findUnstoredClick (deps: IntakeDeps, clickid: string): Promise<ClickRecord | undefined> {
  const buffered = deps.clickRecorder?.findBuffered(clickid)
  if (buffered !== undefined) {
    await deps.clickRecorder?.flush()
    return buffered
  }
  await sleep(deps.clickFlushIntervalMs)
  return (await findClick(deps.db, clickid)) ?? deps.clickRecorder?.findBuffered(clickid)
}

/** Constant-time comparison of equal-length digests, so timing reveals nothing about the code. */
export function secureMatches (given: string | null, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given ?? ''), digest(expected)) && given !== null
}

/** (offer, goal, action_id) when there is an action_id, else (offer, goal, click id) unless the offer allows duplicates. */
function uniquenessKey (req: PostbackRequest, offer: IntakeOffer) {
  if (req.actionId !== null) return { offerId: offer.id, goal: req.goal, actionId: req.actionId }
  if (!offer.allow_duplicate_conversions && req.clickid !== null) return { offerId: offer.id, goal: req.goal, clickDedupKey: req.clickid }
  return null
}

/** A postback refers to an existing conversion when it comes through the same click (or, without one, the same affiliate). */
function sameAttribution (existing: ConversionRow, attribution: Attribution): boolean {
  if (attribution.click !== null) return existing.clickid === attribution.click.clickid
  return existing.clickid === null && existing.affiliate_id === attribution.affiliateId
}

function findGoal (offer: IntakeOffer, goal: string) {
  const wanted = goal.toLowerCase()
  return offer.goals.find((g) => g.value.toLowerCase() === wanted)
}

type Creation = { ok: true; conversion: NewConversion } | { ok: false; refusal: DomainError }

/** The row a new conversion would be, or the rule that refuses it (judged in the contract's order). */
function prepareCreation (
  req: PostbackRequest,
  offer: IntakeOffer,
  affiliateStatus: AffiliateStatus,
  attribution: Attribution,
  now: Date
): Creation {
  const refused = (refusal: DomainError): Creation => ({ ok: false, refusal })
  if (offer.status === 'stopped') return refused(ruleViolation(OFFER_DISABLED))
  if (affiliateStatus === 'banned') return refused(ruleViolation(AFFILIATE_DISABLED))
  if (attribution.click === null && !offer.probabilistic_attribution) return refused(ruleViolation(PROBABILISTIC_DISABLED))
  const goal = findGoal(offer, req.goal)
  if (goal === undefined) return refused(ruleViolation(GOAL_NOT_FOUND, '/goal'))
  const amounts = conversionAmounts(goal, req.sum)
  if (amounts === null) return refused(ruleViolation(SUM_REQUIRED, '/sum'))
  const click = attribution.click
  // Affise's rule: a conversion after its click session is still created, declined, so both sides see it.
  const expired = click !== null && sessionExpired(click.created_at, offer.click_session_seconds, now)
  const status = expired ? 'declined' : req.status ?? offer.default_conversion_status
  const declineReason = expired ? SESSION_EXPIRED : status === 'declined' ? DECLINED_BY_ADVERTISER : null
  const conversion: NewConversion = {
    clickid: click?.clickid ?? null,
    offer_id: offer.id,
    affiliate_id: attribution.affiliateId,
    goal: goal.value,
    action_id: req.actionId,
    click_dedup_key: req.actionId === null && !offer.allow_duplicate_conversions ? click?.clickid ?? null : null,
    status,
    integration_method: click === null ? 'probabilistic' as const : 'default' as const,
    sum: req.sum === null ? null : formatAmountDb(req.sum),
    revenue: formatAmountDb(amounts.revenue),
    payout: formatAmountDb(amounts.payout),
    currency: offer.currency,
    order_currency: req.orderCurrency,
    ip: req.ip ?? click?.ip ?? null,
    user_agent: click?.user_agent ?? null,
    comment: req.comment,
    custom_fields: JSON.stringify(req.customFields),
    country: req.country,
    click_params: JSON.stringify(click?.params ?? {}),
    click_created_at: click?.created_at ?? null,
    hold_until: status === 'hold' ? holdUntil(offer.hold_period_days) : null,
    decline_reason: declineReason,
    created_at: now,
  }
  return { ok: true, conversion }
}

/**
 * A repeat of an existing conversion: nothing changes without a new status; a new status applies only while
 * the conversion is pending, by compare-and-set. Undefined when the conversion changed under us (re-judge).
 */
async function applyToExisting (
  deps: IntakeDeps,
  req: PostbackRequest,
  offer: IntakeOffer,
  existing: ConversionRow,
  log: ServerPostbackEntry
): Promise<PostbackOutcome | undefined> {
  if (req.status === null || req.status === existing.status) {
    await insertServerPostback(deps.db, log, { result: 'accepted', httpStatus: 200, detail: null, conversionId: existing.id })
    return { conversion: existing, duplicate: true, statusChanged: false }
  }
  if (existing.status !== 'pending') throw conflict(NOT_PENDING)
  const changes = statusChangeFromAdvertiser(req, offer, existing, req.status)
  const updated = await deps.db.transaction().execute(async (trx) => {
    const row = await updateConversionIf(trx, existing.id, 'pending', changes)
    if (row === undefined) return undefined
    const eventId = await insertStatusEvent(trx, { conversionId: row.id, from: 'pending', to: row.status, source: 'advertiser' })
    await enqueueDeliveries(trx, [{ id: eventId, conversionId: row.id }])
    await insertServerPostback(trx, log, { result: 'accepted', httpStatus: 200, detail: null, conversionId: row.id })
    return row
  })
  if (updated === undefined) return undefined
  return { conversion: updated, duplicate: true, statusChanged: true }
}

/** The new status plus what the postback carries: sum (percent payouts recomputed), comment, custom fields. */
function statusChangeFromAdvertiser (
  req: PostbackRequest,
  offer: IntakeOffer,
  existing: ConversionRow,
  status: ConversionStatus
): ConversionUpdate {
  const changes: ConversionUpdate = {
    status,
    hold_until: status === 'hold' ? holdUntil(offer.hold_period_days) : null,
    decline_reason: status === 'declined' ? DECLINED_BY_ADVERTISER : null,
  }
  if (req.sum !== null) {
    changes.sum = formatAmountDb(req.sum)
    const goal = findGoal(offer, existing.goal)
    if (goal?.type === 'percent') {
      const amounts = conversionAmounts(goal, req.sum)
      if (amounts !== null) {
        changes.revenue = formatAmountDb(amounts.revenue)
        changes.payout = formatAmountDb(amounts.payout)
      }
    }
  }
  if (req.orderCurrency !== null) changes.order_currency = req.orderCurrency
  if (req.comment !== null) changes.comment = req.comment
  if (Object.keys(req.customFields).length > 0) changes.custom_fields = JSON.stringify({ ...existing.custom_fields, ...req.customFields })
  return changes
}
