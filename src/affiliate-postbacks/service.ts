import type { Db } from '../db/database.js'
import type { PostbackRow } from '../db/tables.js'
import { DomainError, notFound, type FieldError } from '../domain/errors.js'
import { selfFeedTarget, lockAffiliate, lockOfferFacts, lockPostback, insertPostback, updatePostback, type OfferFacts, type Owner } from './repository.js'
import { judgeScopeRules, parsePostbackUrl } from './rules.js'
import { lockTrackingDomainsShared } from '../tracking-domains/repository.js'
import type { HealthState, PostbackPatch, PostbackSettings } from './schemas.js'

// Creating and changing a postback, the same way from every place (contract §5.2): only where the
// affiliate and offer ids come from differs, and with it whether an unknown one is not found or a rule
// violation.

/** Where an id came from: the path (unknown: not found), the body (unknown: a rule violation) or the caller's key. */
export type IdSource = 'path' | 'body' | 'key'

export interface PostbackPlace {
  affiliate: { id: number; from: IdSource }
  offer: { id: number | null; from: 'path' | 'body' }
  /** The affiliate panel may attach a local postback only to an offer that is `active`. */
  panel: boolean
}

export function postbackToApi (row: PostbackRow) {
  return {
    id: row.id,
    affiliate_id: row.affiliate_id,
    offer_id: row.offer_id,
    scope: row.offer_id === null ? 'global' as const : 'local' as const,
    url: row.url,
    method: row.method,
    status: row.status,
    goal: row.goal,
    integration_method: row.integration_method,
    force_global: row.force_global,
    health: {
      state: healthState(row),
      consecutive_failures: row.consecutive_failures,
      last_success_at: row.last_success_at,
      last_failure_at: row.last_failure_at,
      disabled_at: row.disabled_at,
      disabled_reason: row.disabled_reason,
    },
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

/** The state `PostbackHealth` names; `?health=` filters on the same rule (repository.ts). */
export function healthState (row: Pick<PostbackRow, 'disabled_at' | 'consecutive_failures'>): HealthState {
  if (row.disabled_at !== null) return 'disabled'
  return row.consecutive_failures > 0 ? 'failing' : 'healthy'
}

/**
 * What `enabled` in a patch does to the health columns: `true` clears the disabling and the run of failures,
 * `false` disables by hand (a postback already disabled stays as it was).
 */
function enabling (enabled: boolean | undefined, current: PostbackRow, panel: boolean) {
  if (enabled === true) {
    return { disabled_at: null, disabled_reason: null, consecutive_failures: 0, failing_since: null }
  }
  if (enabled === false && current.disabled_at === null) {
    return { disabled_at: new Date(), disabled_reason: panel ? 'Disabled by the affiliate' : 'Disabled by a manager' }
  }
  return {}
}

function ruleViolations (errors: FieldError[]): DomainError {
  return new DomainError('rule-violation', errors.map((error) => error.message).join('; '), errors)
}

/**
 * A rule violation when the URL would feed this service's own intake: a tracking domain's host or
 * PUBLIC_URL's origin. The caller holds the tracking-domains lock shared, so no hostname appears between this check and commit.
 */
async function selfUrlErrors (trx: Db, url: URL, publicUrl: string): Promise<FieldError[]> {
  const target = await selfFeedTarget(trx, url, publicUrl)
  if (target === null) return []
  const where = target.kind === 'public-url' ? 'the origin of PUBLIC_URL' : `${target.host} is one of its tracking domains`
  return [{ path: '/url', message: `url points at this service itself (${where}); a postback must go to the affiliate's own server` }]
}

/** What a postback must never point at: PUBLIC_URL's origin, and wherever this service listens. */
export interface OwnTarget {
  publicUrl: string
  resolvesToSelf(url: URL): Promise<string | null>
}

/**
 * A rule violation when the URL's host resolves to an address and port this service listens on
 * (`localhost`, `[::1]`, `127.0.0.2`, the host's own name...). Resolved before the transaction: no lock is held while DNS answers.
 */
async function ownAddressErrors (own: OwnTarget, url: URL): Promise<FieldError[]> {
  const reason = await own.resolvesToSelf(url)
  return reason === null ? [] : [{ path: '/url', message: `url points at this service itself (${reason}); a postback must go to the affiliate's own server` }]
}

function offerNotUsable (offerId: number, panel: boolean): string {
  return panel ? `Offer ${offerId} not found among active offers` : `Offer ${offerId} not found`
}

/**
 * Loads (and share-locks) the target offer; a path id that names nothing usable is not found, a body id a
 * rule violation.
 */
async function resolveOffer (trx: Db, offerId: number, from: 'path' | 'body', panel: boolean, errors: FieldError[]) {
  const offer = await lockOfferFacts(trx, offerId)
  const usable = offer !== undefined && (!panel || offer.status === 'active')
  if (usable) return offer
  if (from === 'path') throw notFound('Offer')
  errors.push({ path: '/offer_id', message: offerNotUsable(offerId, panel) })
  return undefined
}

export async function createPostback (db: Db, own: OwnTarget, place: PostbackPlace, settings: PostbackSettings): Promise<PostbackRow> {
  const url = parsePostbackUrl(settings.url)
  const ownAddress = await ownAddressErrors(own, url)
  return db.transaction().execute(async (trx) => {
    // Before any row lock: a wait here behind a tracking-domain write must not hold locks intake needs.
    await lockTrackingDomainsShared(trx)
    const errors: FieldError[] = []
    // Path ids first: an unknown one is not found whatever else is wrong.
    const affiliateKnown = await lockAffiliate(trx, place.affiliate.id)
    if (!affiliateKnown && place.affiliate.from !== 'body') throw notFound('Affiliate')
    let offer: OfferFacts | undefined
    if (place.offer.id !== null && place.offer.from === 'path') offer = await resolveOffer(trx, place.offer.id, 'path', place.panel, errors)
    if (!affiliateKnown) errors.push({ path: '/affiliate_id', message: `Affiliate ${place.affiliate.id} not found` })
    if (place.offer.id !== null && place.offer.from === 'body') offer = await resolveOffer(trx, place.offer.id, 'body', place.panel, errors)

    const goal = settings.goal ?? null
    const judged = judgeScopeRules({ offerId: place.offer.id, goal, forceGlobal: settings.force_global }, offer)
    errors.push(...ownAddress, ...(await selfUrlErrors(trx, url, own.publicUrl)), ...judged.errors)
    if (errors.length > 0) throw ruleViolations(errors)

    return insertPostback(trx, {
      affiliate_id: place.affiliate.id,
      offer_id: place.offer.id,
      url: settings.url,
      method: settings.method,
      status: settings.status,
      goal: judged.goal,
      integration_method: settings.integration_method,
      force_global: settings.force_global,
    })
  })
}

/**
 * JSON Merge Patch. The rules judge the state after the patch: moving local ↔ global re-judges `goal` and
 * `force_global`, and a goal kept while moving to another offer must be one of that offer's goals.
 */
export async function patchPostback (
  db: Db, own: OwnTarget, id: number, owner: Owner & { panel: boolean }, patch: PostbackPatch
): Promise<PostbackRow> {
  const url = patch.url === undefined ? undefined : parsePostbackUrl(patch.url)
  const ownAddress = url === undefined ? [] : await ownAddressErrors(own, url)
  return db.transaction().execute(async (trx) => {
    // Before the postback's row lock, which intake's statement would otherwise wait on (see createPostback).
    if (url !== undefined) await lockTrackingDomainsShared(trx)
    const current = await lockPostback(trx, id, owner)
    if (current === undefined) throw notFound('Postback')
    if (Object.keys(patch).length === 0) return current

    const errors: FieldError[] = []
    const offerId = patch.offer_id === undefined ? current.offer_id : patch.offer_id
    const offerChanged = offerId !== current.offer_id
    let offer: OfferFacts | undefined
    if (offerId !== null) {
      // Active-only applies when attaching: a postback on an offer paused since keeps its other settings editable.
      offer = await resolveOffer(trx, offerId, 'body', owner.panel && offerChanged, errors)
    }
    const goal = patch.goal === undefined ? current.goal : patch.goal
    const forceGlobal = patch.force_global ?? current.force_global
    const judged = judgeScopeRules({ offerId, goal, forceGlobal }, offer)
    if (url !== undefined) errors.push(...ownAddress, ...(await selfUrlErrors(trx, url, own.publicUrl)))
    errors.push(...judged.errors)
    if (errors.length > 0) throw ruleViolations(errors)

    return updatePostback(trx, id, {
      offer_id: offerId,
      ...(patch.url === undefined ? {} : { url: patch.url }),
      ...(patch.method === undefined ? {} : { method: patch.method }),
      ...(patch.status === undefined ? {} : { status: patch.status }),
      ...(patch.integration_method === undefined ? {} : { integration_method: patch.integration_method }),
      goal: judged.goal,
      force_global: forceGlobal,
      ...enabling(patch.enabled, current, owner.panel),
    })
  })
}
