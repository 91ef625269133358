// The few autocannon types the benchmarks use (the package ships none).
declare module 'autocannon' {
  interface Histogram {
    average: number
    mean: number
    p50: number
    p90: number
    p99: number
    max: number
  }
  export interface Result {
    requests: Histogram & { total: number }
    latency: Histogram
    errors: number
    timeouts: number
    non2xx: number
    statusCodeStats: Record<string, { count: number }>
    duration: number
  }
  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    /** Requests per second over all connections; unset: as fast as the server answers. */
    overallRate?: number
    method?: string
    headers?: Record<string, string>
    /** Requests in all, instead of a duration. */
    amount?: number
    /** Each request may be rewritten before it is sent (a path per request). */
    requests?: { setupRequest?: (request: AutocannonRequest) => AutocannonRequest }[]
  }
  export interface AutocannonRequest {
    path?: string
    method?: string
    headers?: Record<string, string>
  }
  /** The run's result; `stop()` ends it early (the promise then resolves with what was measured). */
  function autocannon (options: Options): Promise<Result> & { stop(): void }
  export default autocannon
}
