/**
 * Errors of the service's own rules, thrown below the routes, each with a stable code (as undici's are).
 * The one error handler turns them into problem+json; nothing below the routes knows HTTP.
 */

/**
 * What a rule refused, in the rules' own terms:
 * - `invalid`: input that cannot be used at all (malformed, out of range);
 * - `not-found`: something the input names does not exist;
 * - `access-denied`: the caller may not do this (a wrong secure code);
 * - `rule-violation`: well-formed input that a business rule refuses;
 * - `conflict`: the input clashes with the current state (a duplicate, a change lost to a concurrent one).
 */
export type DomainErrorCode = 'invalid' | 'not-found' | 'access-denied' | 'rule-violation' | 'conflict'

/** One offending member, at a JSON Pointer into the input (`/goals/0/payout`). */
export interface FieldError {
  path: string
  message: string
}

export class DomainError extends Error {
  override name = 'DomainError'
  /** Set when the error is about particular members of the input. */
  readonly errors: FieldError[] | undefined

  constructor (readonly code: DomainErrorCode, detail: string, errors?: FieldError[]) {
    super(detail)
    this.errors = errors
  }
}

/** The detail, also as the one field error at `path` when the member at fault is known. */
function at (code: DomainErrorCode, detail: string, path: string | undefined): DomainError {
  return new DomainError(code, detail, path === undefined ? undefined : [{ path, message: detail }])
}

export const invalidInput = (detail: string, path?: string): DomainError => at('invalid', detail, path)
export const notFound = (what: string): DomainError => new DomainError('not-found', `${what} not found`)
export const accessDenied = (detail: string): DomainError => new DomainError('access-denied', detail)
export const ruleViolation = (detail: string, path?: string): DomainError => at('rule-violation', detail, path)
export const conflict = (detail: string): DomainError => new DomainError('conflict', detail)
