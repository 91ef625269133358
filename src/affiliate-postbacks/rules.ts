import { invalidInput, type FieldError } from '../domain/errors.js'
import type { OfferFacts } from './repository.js'

// The rules of contract §5.1, in one place, so every route that writes a postback judges it alike.

const SCHEME_AND_AUTHORITY = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/

/**
 * A postback URL's structure: absolute http(s) with a literal host. Macros may stand anywhere after the
 * host; in the host they would let a click's parameters choose where the postback goes. Invalid input when broken.
 */
export function parsePostbackUrl (raw: string): URL {
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) throw invalidInput('url must not contain spaces or control characters', '/url')
  const match = SCHEME_AND_AUTHORITY.exec(raw)
  if (match === null || !/^https?$/i.test(match[1] as string)) {
    throw invalidInput('url must be an absolute http or https URL (http://host/... or https://host/...)', '/url')
  }
  const authority = match[2] as string
  // WHATWG would read `https:///host` as `https://host`; an integrator who wrote three slashes meant something else.
  if (authority === '' || authority.endsWith('@')) throw invalidInput('url must have a host', '/url')
  if (/[{}]/.test(authority)) {
    throw invalidInput('url must name its host literally: macros are allowed in the path and query, not in the host or port', '/url')
  }
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw invalidInput('url is not a valid URL', '/url')
  }
  if (parsed.hostname === '') throw invalidInput('url must have a host', '/url')
  return parsed
}

/** The state a postback will have once written: what the rules judge. */
export interface PostbackTarget {
  offerId: number | null
  goal: string | null
  forceGlobal: boolean
}

export interface Judgement {
  errors: FieldError[]
  /** The offer's own spelling of the goal, to store; null when none or when the goal was refused. */
  goal: string | null
}

/**
 * The goal and force_global rules against the target's scope. `offer` is the target offer's facts
 * (undefined for a global postback, or when the offer is unknown and already reported).
 */
export function judgeScopeRules (target: PostbackTarget, offer: OfferFacts | undefined): Judgement {
  const errors: FieldError[] = []
  let goal: string | null = null
  if (target.offerId === null) {
    if (target.goal !== null) {
      errors.push({ path: '/goal', message: 'goal is only allowed on a local postback (one with an offer_id); set it to null for a global one' })
    }
  } else {
    if (target.forceGlobal) {
      errors.push({ path: '/force_global', message: 'force_global is only allowed on a global postback (offer_id null)' })
    }
    if (target.goal !== null && offer !== undefined) {
      const wanted = target.goal.toLowerCase()
      const canonical = offer.goals.find((value) => value.toLowerCase() === wanted)
      if (canonical === undefined) {
        errors.push({ path: '/goal', message: `goal ${target.goal} is not a goal of offer ${offer.id} (its goals: ${offer.goals.join(', ')})` })
      } else {
        goal = canonical
      }
    }
  }
  return { errors, goal }
}
