// Which affiliate postbacks an event fires (contract §5.4).
import type { ConversionStatus } from './statuses.js'

export type PostbackTrigger = 'any' | 'created' | ConversionStatus
export type IntegrationMethod = 'default' | 'probabilistic'
export type PostbackIntegrationFilter = 'all' | IntegrationMethod

export const POSTBACK_TRIGGERS: readonly PostbackTrigger[] = ['any', 'created', 'approved', 'pending', 'declined', 'hold']
export const INTEGRATION_FILTERS: readonly PostbackIntegrationFilter[] = ['all', 'default', 'probabilistic']

export interface FiringEvent {
  kind: 'created' | 'status_changed'
  /** The conversion's status after the event. */
  status: ConversionStatus
  goal: string
  integrationMethod: IntegrationMethod
}

export interface FiringCandidate {
  id: number
  /** null for a global postback. */
  offerId: number | null
  status: PostbackTrigger
  /** Only locals narrow by goal; a global's is ignored. */
  goal: string | null
  integrationMethod: PostbackIntegrationFilter
  /** Only meaningful on a global. */
  forceGlobal: boolean
}

/**
 * The postbacks to deliver for one event, locals first, each in input order.
 * `localPostbacks` must be all of the affiliate's postbacks for the conversion's offer, matching or
 * not: a global falls silent as soon as the offer has any local one, unless it forces itself in
 * when none of those locals matched.
 */
export function resolveFiringPostbacks<P extends FiringCandidate> (
  event: FiringEvent,
  localPostbacks: readonly P[],
  globalPostbacks: readonly P[]
): P[] {
  const goal = event.goal.toLowerCase()
  const locals = localPostbacks.filter(
    (p) => matchesEvent(p, event) && (p.goal === null || p.goal.toLowerCase() === goal)
  )
  if (locals.length > 0) return locals
  const offerHasLocals = localPostbacks.length > 0
  return globalPostbacks.filter((p) => matchesEvent(p, event) && (!offerHasLocals || p.forceGlobal))
}

/** Trigger and integration filter; the goal rule is the caller's, since it applies to locals only. */
export function matchesEvent (p: Pick<FiringCandidate, 'status' | 'integrationMethod'>, event: FiringEvent): boolean {
  return triggerFits(p.status, event) && (p.integrationMethod === 'all' || p.integrationMethod === event.integrationMethod)
}

export function triggerFits (trigger: PostbackTrigger, event: Pick<FiringEvent, 'kind' | 'status'>): boolean {
  if (trigger === 'any') return true
  if (trigger === 'created') return event.kind === 'created'
  return trigger === event.status
}
