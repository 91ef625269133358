import type { RouteOptions } from 'fastify'

/**
 * Which methods the service's routes take on a concrete path, so that a request with another method is a
 * 405 with `Allow` rather than a 404 hiding that the URL was right. A path parameter matches what its
 * schema's `pattern` allows (a short code is `[0-9A-Za-z]{6,}`), else any one segment; as in the router, a
 * static path beats a parametric one (`/postback` is not a short code). Routes that exist only to refuse
 * (`config.refusesOnly`) claim their path but add no method.
 */
export class AllowedMethods {
  readonly #routes = new Map<string, { pattern: RegExp; parametric: boolean; methods: Set<string> }>()

  add (route: RouteOptions): void {
    let entry = this.#routes.get(route.url)
    if (entry === undefined) {
      const params = (route.schema?.params as { properties?: Record<string, { pattern?: string }> } | undefined)?.properties ?? {}
      const source = route.url.split('/').map((segment) => {
        if (segment === '*') return '.*'
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        const pattern = params[segment.slice(1)]?.pattern
        return pattern === undefined ? '[^/]+' : `(?:${pattern.replace(/^\^/, '').replace(/\$$/, '')})`
      }).join('/')
      entry = { pattern: new RegExp(`^${source}$`), parametric: route.url.includes(':') || route.url.includes('*'), methods: new Set() }
      this.#routes.set(route.url, entry)
    }
    if ((route.config as { refusesOnly?: boolean } | undefined)?.refusesOnly === true) return
    for (const method of [route.method].flat()) entry.methods.add(method)
  }

  /** The methods some route takes on `path`, sorted; empty when no route has the path. */
  on (path: string): string[] {
    const matching = [...this.#routes.values()].filter(({ pattern }) => pattern.test(path))
    const winners = matching.some((entry) => !entry.parametric) ? matching.filter((entry) => !entry.parametric) : matching
    return [...new Set(winners.flatMap((entry) => [...entry.methods]))].sort()
  }
}
