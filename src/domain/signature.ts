// Standard Webhooks signatures (https://www.standardwebhooks.com/, the scheme Svix publishes), as contract §5.7
// applies them to postbacks: `v1,` + base64 HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<content>`,
// keyed with the bytes behind the `whsec_` secret; one signature per key in force, separated by spaces.
import { createHmac, randomBytes } from 'node:crypto'

export const SECRET_PREFIX = 'whsec_'
/** How long a replaced secret keeps signing beside its successor (§5.7). */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000
const SECRET_BYTES = 32

/** A new key: base64 of 32 bytes from the CSPRNG, as stored (without the `whsec_` prefix the API shows). */
export function newSigningKey (): string {
  return randomBytes(SECRET_BYTES).toString('base64')
}

/** The secret as handed to the affiliate (shown once). */
export function secretForDisplay (key: string): string {
  return SECRET_PREFIX + key
}

/** What a GET postback signs: the request target (path and query) exactly as it goes on the wire. */
export function requestTarget (url: URL): string {
  return url.pathname + url.search
}

/** The Standard Webhooks headers for one attempt; `keys` newest first, at least one. */
export function signatureHeaders (
  webhookId: string, at: Date, content: string, keys: readonly string[]
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  const timestamp = String(Math.floor(at.getTime() / 1000))
  const signed = `${webhookId}.${timestamp}.${content}`
  let signature = ''
  for (const key of keys) {
    const mac = createHmac('sha256', Buffer.from(key, 'base64')).update(signed).digest('base64')
    signature += signature === '' ? `v1,${mac}` : ` v1,${mac}`
  }
  return { 'webhook-id': webhookId, 'webhook-timestamp': timestamp, 'webhook-signature': signature }
}
