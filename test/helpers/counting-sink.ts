import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from './build.js'

// A postback receiver for resilience tests: counts arrivals per X-Postback-Delivery-Id (to find lost and
// duplicated deliveries) and how many requests it holds open at once (to check the sender's bounds).

export type SinkMode = { delayMs: () => number } | { hang: true }

export interface CountingSink {
  origin: string
  /** Arrivals per delivery id; a count above 1 is a duplicate. */
  arrivals: Map<number, number>
  requests: number
  inFlight: number
  maxInFlight: number
  /** How long each request stayed open before the sender gave up or got its answer, in ms. */
  openDurations: number[]
  duplicates(): number
  close(): Promise<void>
}

/** Starts a sink on 127.0.0.1; a request counts as arrived once its head and body are in. Closed on teardown. */
export async function startCountingSink (t: TestContext, mode: SinkMode): Promise<CountingSink> {
  const sink: Omit<CountingSink, 'origin' | 'close'> & { duplicates(): number } = {
    arrivals: new Map(),
    requests: 0,
    inFlight: 0,
    maxInFlight: 0,
    openDurations: [],
    duplicates () {
      let extra = 0
      for (const count of this.arrivals.values()) extra += count - 1
      return extra
    },
  }
  const server = http.createServer((req, res) => {
    const started = Date.now()
    sink.inFlight += 1
    sink.maxInFlight = Math.max(sink.maxInFlight, sink.inFlight)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      sink.inFlight -= 1
      sink.openDurations.push(Date.now() - started)
    }
    res.on('close', finish)
    req.resume()
    req.on('end', () => {
      sink.requests += 1
      const id = Number(req.headers['x-postback-delivery-id'])
      if (Number.isInteger(id)) sink.arrivals.set(id, (sink.arrivals.get(id) ?? 0) + 1)
      if ('hang' in mode) return
      setTimeout(() => { if (!res.destroyed) res.end('ok') }, mode.delayMs())
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return Object.assign(sink, { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close })
}

/** A delay between `min` and `max` ms, uniformly. */
export function between (min: number, max: number): () => number {
  return () => min + Math.floor(Math.random() * (max - min + 1))
}
