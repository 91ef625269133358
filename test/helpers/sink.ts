import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from './build.js'

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

export interface Sink {
  /** `http://127.0.0.1:<port>` */
  origin: string
  port: number
  requests: SinkRequest[]
  /** Requests to one path (without the query string). */
  to(path: string): SinkRequest[]
  /** Sets a path's behaviour: a fixed one, or one chosen per call (1-based count of calls to that path). */
  on(path: string, behaviour: SinkBehaviour | ((call: number) => SinkBehaviour)): void
  close(): Promise<void>
}

/**
 * A real HTTP receiver on 127.0.0.1 for postback tests: records every request and answers per path
 * (default 200 "ok"). Closed on teardown; hanging requests are destroyed then.
 */
export async function startSink (t: TestContext): Promise<Sink> {
  const requests: SinkRequest[] = []
  const behaviours = new Map<string, SinkBehaviour | ((call: number) => SinkBehaviour)>()
  const calls = new Map<string, number>()

  const server = http.createServer((req, res) => {
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
      requests.push(received)
      res.on('finish', () => { received.answeredAt = Date.now() })
      const configured = behaviours.get(parsed.pathname)
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
      const answer = () => res.writeHead(behaviour.status ?? 200, behaviour.headers).end(behaviour.body ?? 'ok')
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

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    to: (path) => requests.filter((r) => r.path === path),
    on: (path, behaviour) => { behaviours.set(path, behaviour) },
    close,
  }
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
