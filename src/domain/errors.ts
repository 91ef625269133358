/**
 * Errors of the service's own rules, thrown below the routes, each with a stable code (as undici's are).
 * The one error handler turns them into problem+json; nothing below the routes knows HTTP.
 */

/** Input that cannot be used, at a JSON Pointer into the request (`/cursor`): a 400. */
export class InvalidInput extends Error {
  override name = 'InvalidInput'
  readonly code = 'S2S_INVALID_INPUT'

  constructor (message: string, readonly path: string) {
    super(message)
  }
}
