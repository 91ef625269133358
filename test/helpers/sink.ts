import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from './build.js'

// The one HTTP receiver the tests point postbacks at. It keeps every request as it arrived (for tests that
// read what was sent), counts arrivals per X-Postback-Delivery-Id and the requests it holds open (for tests
// that look for lost or duplicated deliveries and check the sender's bounds), and answers each path as told.
// It listens on 127.0.0.1 only, so nothing a test sends leaves the machine.

/** One request the sink received, as it arrived. */
export interface SinkRequest {
  method: string
  path: string
  /** The raw request target: path plus query string, exactly as sent. */
  url: string
  query: URLSearchParams
  headers: http.IncomingHttpHeaders
  body: string
  at: number
  /** The client's port: requests on one kept-alive connection share it. */
  remotePort: number
  /** When the answer was finished; undefined while it is pending (or never sent). */
  answeredAt?: number
}

/** What the sink does for a path; a function may vary by call number (1-based, per path). */
export type SinkBehaviour =
  | { status?: number; body?: string; delayMs?: number; headers?: Record<string, string> }
  | { redirect: string; status?: number }
  | { hang: true }
  /** The status line and the start of a longer body, then nothing more. */
  | { stallAfter: string; status?: number }

export type SinkAnswer = SinkBehaviour | ((call: number) => SinkBehaviour)

export interface Sink {
  /** `http://127.0.0.1:<port>` */
  origin: string
  port: number
  requests: SinkRequest[]
  /** Arrivals per X-Postback-Delivery-Id; a count above 1 is a duplicate. */
  arrivals: Map<number, number>
  /** Requests open now (head received, answer not finished nor connection closed). */
  inFlight: number
  maxInFlight: number
  /** How long each request stayed open before the sender gave up or got its answer, in ms. */
  openDurations: number[]
  /** Arrivals beyond the first per delivery id. */
  duplicates(): number
  /** Requests to one path (without the query string). */
  to(path: string): SinkRequest[]
  /** Sets a path's behaviour: a fixed one, or one chosen per call (1-based count of calls to that path). */
  on(path: string, behaviour: SinkAnswer): void
  close(): Promise<void>
}

export interface SinkOptions {
  /** The behaviour of every path that `on` did not set; 200 "ok" at once unless given. */
  otherwise?: SinkAnswer
}

/**
 * Starts the receiver. A request counts as arrived once its head and body are in. Closed on teardown, when
 * hanging requests are destroyed.
 */
export async function startSink (t: TestContext, options: SinkOptions = {}): Promise<Sink> {
  const behaviours = new Map<string, SinkAnswer>()
  const calls = new Map<string, number>()

  const server = http.createServer((req, res) => {
    const opened = Date.now()
    sink.inFlight += 1
    sink.maxInFlight = Math.max(sink.maxInFlight, sink.inFlight)
    let open = true
    res.on('close', () => {
      if (!open) return
      open = false
      sink.inFlight -= 1
      sink.openDurations.push(Date.now() - opened)
    })
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const target = req.url ?? '/'
      const parsed = new URL(target, 'http://sink.invalid')
      const call = (calls.get(parsed.pathname) ?? 0) + 1
      calls.set(parsed.pathname, call)
      const received: SinkRequest = {
        method: req.method ?? '',
        path: parsed.pathname,
        url: target,
        query: parsed.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        remotePort: req.socket.remotePort ?? 0,
      }
      sink.requests.push(received)
      const deliveryId = Number(req.headers['x-postback-delivery-id'])
      if (Number.isInteger(deliveryId)) sink.arrivals.set(deliveryId, (sink.arrivals.get(deliveryId) ?? 0) + 1)
      res.on('finish', () => { received.answeredAt = Date.now() })
      const configured = behaviours.get(parsed.pathname) ?? options.otherwise
      const behaviour = typeof configured === 'function' ? configured(call) : configured ?? {}
      if ('hang' in behaviour) return
      if ('stallAfter' in behaviour) {
        res.writeHead(behaviour.status ?? 200, { 'content-length': String(behaviour.stallAfter.length + 1000) }).write(behaviour.stallAfter)
        return
      }
      if ('redirect' in behaviour) {
        res.writeHead(behaviour.status ?? 302, { location: behaviour.redirect }).end()
        return
      }
      // A delayed answer may find the sender gone (it timed out): nothing is written then.
      const answer = () => { if (!res.destroyed) res.writeHead(behaviour.status ?? 200, behaviour.headers).end(behaviour.body ?? 'ok') }
      if (behaviour.delayMs !== undefined) setTimeout(answer, behaviour.delayMs)
      else answer()
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)

  const sink: Sink = {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests: [],
    arrivals: new Map(),
    inFlight: 0,
    maxInFlight: 0,
    openDurations: [],
    duplicates () {
      let extra = 0
      for (const count of sink.arrivals.values()) extra += count - 1
      return extra
    },
    to: (path) => sink.requests.filter((r) => r.path === path),
    on: (path, behaviour) => { behaviours.set(path, behaviour) },
    close,
  }
  return sink
}

/** A delay between `min` and `max` ms, drawn uniformly for each request. */
export function delayBetween (min: number, max: number): () => SinkBehaviour {
  return () => ({ delayMs: min + Math.floor(Math.random() * (max - min + 1)) })
}

/** The most requests that were ever open at once (arrived, not yet answered) across these requests. */
export function maxConcurrent (requests: readonly SinkRequest[]): number {
  const edges = requests.flatMap((r) => [[r.at, 1], [r.answeredAt ?? Infinity, -1]] as [number, number][])
  // At equal times an answer comes before an arrival: back-to-back requests do not overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let max = 0
  for (const [, delta] of edges) {
    open += delta
    max = Math.max(max, open)
  }
  return max
}

/** A TCP port on 127.0.0.1 with nothing listening (connections are refused). */
export async function closedPort (): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
