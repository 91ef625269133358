import { randomBytes } from 'node:crypto'
import dns from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { Agent, buildConnector, type Dispatcher } from 'undici'
import { privateNetworkReason } from '../domain/network.js'
import { parseRetryAfter } from '../domain/retry.js'
import { comparableHost, comparableOrigin, DELIVERY_ID_HEADER, LOOP_GUARD_HEADER, USER_AGENT_PRODUCT } from '../domain/self-feed.js'
import { requestTarget, signatureHeaders } from '../domain/signature.js'
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
  /** A 429 or 503 with a usable `Retry-After`: how long the receiver asked for, from the answer on. */
  retryAfterMs?: number | null
}

export interface OutgoingPostback {
  method: 'GET' | 'POST'
  url: string
  body: string | null
  /** Sent as X-Postback-Delivery-Id; null for a test fire, which has no delivery. */
  deliveryId: number | null
  /**
   * The affiliate's Standard Webhooks keys in force, newest first; null or empty: unsigned. A test fire,
   * having no delivery id, signs with a `test_` webhook-id of its own.
   */
  signingKeys?: readonly string[] | null
}

export interface SenderOptions {
  timeoutMs: number
  allowPrivateNetworks: boolean
  /** Connections kept per origin: one slow receiver can hold at most this many. */
  connectionsPerOrigin: number
  /** The service's own origin (PUBLIC_URL's, see `publicOrigin`): never a destination. */
  ownOrigin: string | null
  /** Whether a connected peer is this service itself (any of its listeners), whatever name led there. */
  isOwnEndpoint?: (address: string, port: number) => boolean
  /** Whether a host (as comparableHost spells it) is one of this service's tracking domains. */
  isTrackingDomainHost?: (host: string) => boolean
  /** The mark of this deployment's own requests, by which its intake refuses one that comes back. */
  loopGuard?: (ref: string) => string
}

const RESPONSE_BODY_LIMIT = 4096
const USER_AGENT = `${USER_AGENT_PRODUCT}${VERSION}`
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

  constructor (options: SenderOptions) {
    this.#options = options
    // No redirect interceptor: a 3xx comes back as an answer, and a non-2xx answer is a failure (§5.5).
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 4_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: this.#connector(),
    })
  }

  /**
   * Connects as undici would (with the private-network guard on the lookup unless allowed), then looks at
   * the peer actually reached: a socket that landed on this service itself, through any name or address
   * spelling, is closed before a byte is sent and the attempt refused.
   */
  #connector (): buildConnector.connector {
    const connect = buildConnector({
      timeout: this.#options.timeoutMs,
      ...(this.#options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
    })
    const isOwnEndpoint = this.#options.isOwnEndpoint
    if (isOwnEndpoint === undefined) return connect
    return (options, callback) => connect(options, (err, socket) => {
      if (err === null && socket !== null && isOwnEndpoint(socket.remoteAddress ?? '', socket.remotePort ?? 0)) {
        const peer = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`
        socket.destroy()
        return callback(new DestinationRefused(`refused: ${options.hostname} leads to ${peer}, this service itself; a postback must not feed its own intake`), null)
      }
      return err === null ? callback(null, socket as NonNullable<typeof socket>) : callback(err, null)
    })
  }

  /**
   * Sends once and reports what happened; never throws. While it runs the attempt sits in `inFlight`
   * (the dispatcher's), so shutdown can cut it short with `cancel`.
   */
  send (postback: OutgoingPostback, inFlight?: Set<InFlightAttempt>): Promise<AttemptOutcome> {
    const at = new Date()
    const started = performance.now()
    let url: URL
    try {
      url = new URL(postback.url)
    } catch {
      return Promise.resolve(refusedOutcome(at, started, 'invalid URL'))
    }
    const refusal = this.#refusalBeforeConnect(url)
    if (refusal !== null) return Promise.resolve(refusedOutcome(at, started, refusal))

    const headers: Record<string, string> = { 'user-agent': USER_AGENT }
    if (postback.deliveryId !== null) headers[DELIVERY_ID_HEADER] = String(postback.deliveryId)
    else headers['x-postback-test'] = 'true'
    if (this.#options.loopGuard !== undefined) headers[LOOP_GUARD_HEADER] = this.#options.loopGuard(postback.deliveryId === null ? 'test' : String(postback.deliveryId))
    if (postback.method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded'
    const path = requestTarget(url)
    const body = postback.method === 'POST' ? (postback.body ?? '') : null
    if (postback.signingKeys != null && postback.signingKeys.length > 0) {
      const webhookId = postback.deliveryId === null ? `test_${randomBytes(12).toString('hex')}` : String(postback.deliveryId)
      Object.assign(headers, signatureHeaders(webhookId, at, body ?? path, postback.signingKeys))
    }

    return new Promise((resolve) => {
      const attempt = new Attempt(at, started, this.#options.timeoutMs, (outcome) => {
        inFlight?.delete(attempt)
        resolve(outcome)
      })
      inFlight?.add(attempt)
      // The same split of the URL undici's request() makes: origin, then path and query as parsed. A GET's
      // signature covers exactly this path.
      this.agent.dispatch({ origin: url.origin, path, method: postback.method, headers, body }, attempt)
    })
  }

  close (): Promise<void> {
    return this.agent.close()
  }

  /**
   * An IP literal never reaches the lookup, so it is judged here; so is a URL undici would reject, and
   * one to the service's own origin: saved postbacks are refused that origin, but a delivery rendered
   * before PUBLIC_URL changed can still point there, guard or no guard.
   */
  #refusalBeforeConnect (parsed: URL): string | null {
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `unsupported scheme ${parsed.protocol}`
    if (this.#options.ownOrigin !== null && comparableOrigin(parsed) === this.#options.ownOrigin) return OWN_ORIGIN_REFUSAL
    // A tracking domain made after the postback was saved (§5.1: refused at save, and again at send).
    const host = comparableHost(parsed)
    if (this.#options.isTrackingDomainHost?.(host) === true) {
      return `refused: ${host} is a tracking domain of this service; a postback must not feed its own intake`
    }
    if (this.#options.allowPrivateNetworks) return null
    const literal = parsed.hostname.replace(/^\[|\]$/g, '')
    if (isIP(literal) === 0) return null
    const reason = privateNetworkReason(literal)
    return reason === null ? null : `refused: ${reason}`
  }
}

/** An attempt under way, as the dispatcher holds it to cut it short at shutdown. */
export interface InFlightAttempt {
  cancel(): void
}

/**
 * One attempt, as undici's dispatch handler: the status line, at most 4 KiB of the answer (the rest is not
 * read: the connection is dropped instead), the whole attempt bounded by the timeout. The status line is
 * the receiver's verdict, so a body that stalls, breaks off or is cut short only shortens what is kept.
 * Cheaper than `request()`, which wraps every answer in a Readable stream and needs a signal per attempt
 * to abort it: the dispatcher makes thousands of attempts a second.
 */
class Attempt implements Dispatcher.DispatchHandler, InFlightAttempt {
  readonly #at: Date
  readonly #started: number
  readonly #timeoutMs: number
  readonly #done: (outcome: AttemptOutcome) => void
  readonly #timer: NodeJS.Timeout
  #controller: Dispatcher.DispatchController | null = null
  #statusCode: number | null = null
  #location: string | undefined
  #retryAfterMs: number | null = null
  #chunks: Buffer[] = []
  #size = 0
  /** Set once the outcome is known; later callbacks (the abort's own error) change nothing. */
  #settled = false
  /** The whole answer arrived: the connection is fit for the next request. */
  #ended = false

  constructor (at: Date, started: number, timeoutMs: number, done: (outcome: AttemptOutcome) => void) {
    this.#at = at
    this.#started = started
    this.#timeoutMs = timeoutMs
    this.#done = done
    this.#timer = setTimeout(() => this.#stop(`timeout: no complete answer within ${timeoutMs} ms`), timeoutMs)
  }

  cancel (): void {
    this.#stop('aborted: the service is shutting down')
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    // Stopped while it waited for a connection: it must not go out now.
    if (this.#settled) controller.abort(new Error('attempt already over'))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return // 1xx: the answer is still to come
    this.#statusCode = statusCode
    const location = headers.location
    this.#location = Array.isArray(location) ? location[0] : location
    if (statusCode === 429 || statusCode === 503) this.#retryAfterMs = parseRetryAfter(headers['retry-after'], Date.now())
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return
    this.#chunks.push(chunk)
    this.#size += chunk.length
    if (this.#size < RESPONSE_BODY_LIMIT) return
    this.#settle(this.#answer())
    // Enough kept. An answer that ends in the packets already read keeps its connection; only one still
    // coming is cut off (aborting here, inside the parser, would drop the connection in either case).
    setImmediate(() => {
      if (!this.#ended) this.#controller?.abort(new Error('attempt over'))
    })
  }

  onResponseEnd (): void {
    this.#ended = true
    this.#settle(this.#answer())
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#settled) return
    if (this.#statusCode !== null) return this.#settle(this.#answer())
    if (isRefusal(err)) return this.#settle(this.#outcome({ error: clean(errorMessage(err)), refused: true }))
    this.#settle(this.#outcome({ error: clean(describeFailure(err, this.#timeoutMs)) }))
  }

  /** Ends the attempt now (timeout, shutdown): with the answer if its status line came, else with `error`. */
  #stop (error: string): void {
    if (this.#settled) return
    this.#settle(this.#statusCode !== null ? this.#answer() : this.#outcome({ error }))
    this.#controller?.abort(new Error('attempt over'))
  }

  #answer (): AttemptOutcome {
    const code = this.#statusCode as number
    const ok = code >= 200 && code < 300
    let error: string | null = null
    if (!ok) {
      error = code >= 300 && code < 400
        ? `HTTP ${code}: redirects are not followed${this.#location === undefined ? '' : ` (Location: ${this.#location.slice(0, 500)})`}`
        : `HTTP ${code}`
    }
    const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
    return this.#outcome({
      httpCode: code, responseBody: clean(body.subarray(0, RESPONSE_BODY_LIMIT).toString('utf8')), ok, error, retryAfterMs: this.#retryAfterMs,
    })
  }

  #outcome (fields: Partial<AttemptOutcome>): AttemptOutcome {
    return outcome(this.#at, this.#started, fields)
  }

  #settle (outcome: AttemptOutcome): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#timer)
    // undici may hold the handler a while longer (an aborted request waits in its queue for a connection).
    this.#chunks = []
    this.#done(outcome)
  }
}

/** An attempt refused before any connection (the SSRF guard, an unusable URL): recorded with the reason, never retried. */
export function refusedOutcome (at: Date, started: number, error: string): AttemptOutcome {
  return outcome(at, started, { error, refused: true })
}

/** An attempt that began at `at` (`started` on the performance clock) and ends now: no answer unless `fields` say so. */
function outcome (at: Date, started: number, fields: Partial<AttemptOutcome>): AttemptOutcome {
  return {
    at,
    httpCode: null,
    responseBody: '',
    error: null,
    ok: false,
    refused: false,
    retryAfterMs: null,
    durationMs: Math.round(performance.now() - started),
    ...fields,
  }
}

function isRefusal (err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === REFUSED) return true
  }
  return false
}

function errorMessage (err: unknown): string {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === REFUSED) return e.message
  }
  return err instanceof Error ? err.message : String(err)
}

function describeFailure (err: unknown, timeoutMs: number): string {
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
function clean (text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text
}
