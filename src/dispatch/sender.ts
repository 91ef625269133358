import dns from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { Agent, request } from 'undici'
import { privateNetworkReason } from '../domain/network.js'
import { comparableOrigin } from '../postbacks/rules.js'
import { VERSION } from '../version.js'

/** What one HTTP attempt produced; exactly what `postback_attempts` records. */
export interface AttemptOutcome {
  at: Date
  httpCode: number | null
  durationMs: number
  responseBody: string
  error: string | null
  /** 2xx: the delivery is done. */
  ok: boolean
  /** Refused before any connection (the SSRF guard, an unusable URL): retrying cannot help. */
  refused: boolean
}

export interface OutgoingPostback {
  method: 'GET' | 'POST'
  url: string
  body: string | null
  /** Sent as X-Postback-Delivery-Id; null for a test fire, which has no delivery. */
  deliveryId: number | null
}

export interface SenderOptions {
  timeoutMs: number
  allowPrivateNetworks: boolean
  /** Connections kept per origin: one slow receiver can hold at most this many. */
  connectionsPerOrigin: number
  /** The service's own origin (PUBLIC_URL's, see `publicOrigin`): never a destination. */
  ownOrigin: string | null
}

const RESPONSE_BODY_LIMIT = 4096
const USER_AGENT = `s2s-tracker/${VERSION}`
const REFUSED = 'ERR_S2S_DESTINATION_REFUSED'
/** Why an attempt to the service's own origin is refused (it would feed the service's own intake). */
const OWN_ORIGIN_REFUSAL = 'refused: the URL points at this service itself (the origin of PUBLIC_URL)'

class DestinationRefused extends Error {
  readonly code = REFUSED
}

/**
 * Resolves every address of a host and refuses the lot if any is not globally reachable; the socket
 * then connects to an address checked here, so DNS rebinding between check and connect is impossible.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err !== null) return callback(err, '', 0)
    for (const { address } of addresses) {
      const reason = privateNetworkReason(address)
      if (reason !== null) return callback(new DestinationRefused(`refused: ${hostname} resolves to ${address}: ${reason}`), '', 0)
    }
    const first = addresses[0]
    if (first === undefined) return callback(new Error(`no address for ${hostname}`), '', 0)
    if (options.all === true) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses)
    else callback(null, first.address, first.family)
  })
}

/** One shared undici Agent for every postback: keep-alive, bounded per origin, never follows redirects. */
export class PostbackSender {
  readonly agent: Agent
  readonly #options: SenderOptions

  constructor(options: SenderOptions) {
    this.#options = options
    // No redirect interceptor: a 3xx comes back as an answer, and a non-2xx answer is a failure (§5.5).
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 4_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: {
        timeout: options.timeoutMs,
        ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
      },
    })
  }

  /** Sends once and reports what happened; never throws. `cancel` aborts early (shutdown). */
  async send(postback: OutgoingPostback, cancel?: AbortSignal): Promise<AttemptOutcome> {
    const at = new Date()
    const started = performance.now()
    const finish = (fields: Partial<AttemptOutcome>): AttemptOutcome => ({
      at, httpCode: null, responseBody: '', error: null, ok: false, refused: false,
      durationMs: Math.round(performance.now() - started), ...fields,
    })

    const refusal = this.#refusalBeforeConnect(postback.url)
    if (refusal !== null) return finish({ error: refusal, refused: true })

    const headers: Record<string, string> = { 'user-agent': USER_AGENT }
    if (postback.deliveryId !== null) headers['x-postback-delivery-id'] = String(postback.deliveryId)
    else headers['x-postback-test'] = 'true'
    if (postback.method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded'

    // One controller per attempt, for the whole-answer timeout and shutdown. Not AbortSignal.any: every
    // signal it derives from the long-lived shutdown signal stays referenced by it, per attempt, and it
    // and AbortSignal.timeout were a visible share of the dispatcher's CPU.
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(new DOMException('The answer took too long', 'TimeoutError')), this.#options.timeoutMs)
    const onCancel = () => abort.abort(cancel?.reason)
    cancel?.addEventListener('abort', onCancel, { once: true })
    try {
      const response = await request(postback.url, {
        dispatcher: this.agent,
        method: postback.method,
        headers,
        body: postback.method === 'POST' ? (postback.body ?? '') : null,
        signal: abort.signal,
      })
      const responseBody = await readHead(response.body)
      const code = response.statusCode
      const ok = code >= 200 && code < 300
      let error: string | null = null
      if (!ok) {
        error = code >= 300 && code < 400
          ? `HTTP ${code}: redirects are not followed${locationOf(response.headers)}`
          : `HTTP ${code}`
      }
      return finish({ httpCode: code, responseBody, ok, error })
    } catch (err) {
      if (isRefusal(err)) return finish({ error: clean(errorMessage(err)), refused: true })
      if (cancel?.aborted === true) return finish({ error: 'aborted: the service is shutting down' })
      return finish({ error: clean(describeFailure(err, this.#options.timeoutMs)) })
    } finally {
      clearTimeout(timer)
      cancel?.removeEventListener('abort', onCancel)
    }
  }

  close(): Promise<void> {
    return this.agent.close()
  }

  /**
   * An IP literal never reaches the lookup, so it is judged here; so is a URL undici would reject, and
   * one to the service's own origin: saved postbacks are refused that origin, but a delivery rendered
   * before PUBLIC_URL changed can still point there, guard or no guard.
   */
  #refusalBeforeConnect(url: string): string | null {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return 'invalid URL'
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `unsupported scheme ${parsed.protocol}`
    if (this.#options.ownOrigin !== null && comparableOrigin(parsed) === this.#options.ownOrigin) return OWN_ORIGIN_REFUSAL
    if (this.#options.allowPrivateNetworks) return null
    const host = parsed.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host) === 0) return null
    const reason = privateNetworkReason(host)
    return reason === null ? null : `refused: ${reason}`
  }
}

/**
 * At most 4 KiB of the answer; the rest is not read (the connection is dropped instead). The status
 * line is the receiver's verdict, so a body that stalls or breaks off only shortens what is kept.
 */
async function readHead(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= RESPONSE_BODY_LIMIT) {
        body.destroy()
        break
      }
    }
  } catch {
    // keep what arrived
  }
  return clean(Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8'))
}

function locationOf(headers: Record<string, string | string[] | undefined>): string {
  const location = headers.location
  const value = Array.isArray(location) ? location[0] : location
  return value === undefined ? '' : ` (Location: ${value.slice(0, 500)})`
}

function isRefusal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === REFUSED) return true
  }
  return false
}

function errorMessage(err: unknown): string {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === REFUSED) return e.message
  }
  return err instanceof Error ? err.message : String(err)
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `timeout: no complete answer within ${timeoutMs} ms`
  }
  const cause = err.cause instanceof Error ? err.cause : null
  const causeCode = cause === null ? undefined : (cause as { code?: unknown }).code
  const label = typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : err.name
  const message = cause !== null && err.message === 'fetch failed' ? cause.message : err.message
  return `${label}: ${message}`.slice(0, 1000)
}

/** PostgreSQL text cannot hold NUL; a receiver's binary answer must not break recording the attempt. */
function clean(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text
}
