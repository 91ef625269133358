import type { FastifyInstance } from 'fastify'

// The routes as the generated OpenAPI document describes them, with every `$ref` inlined: what the fuzz
// and isolation tests enumerate, so a route added later is covered without editing them.

export type JsonSchema = Record<string, any>

export interface ApiRoute {
  method: string
  /** OpenAPI form: `/v1/offers/{id}`. */
  path: string
  pathParams: string[]
  /** Query parameters as one object schema (empty properties when there are none). */
  query: JsonSchema
  /** The request body schema and its media types, when the route takes one. */
  body: { schema: JsonSchema; mediaTypes: string[] } | null
  /** `/v1/affiliate/...`: needs an affiliate key. */
  panel: boolean
}

export function apiRoutes (app: FastifyInstance): ApiRoute[] {
  const doc = app.swagger() as { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, JsonSchema> } }
  const components = doc.components?.schemas ?? {}
  const routes: ApiRoute[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const parameters = (operation.parameters ?? []) as { in: string; name: string; schema?: JsonSchema; required?: boolean }[]
      const queryParams = parameters.filter((p) => p.in === 'query')
      const content = operation.requestBody?.content as Record<string, { schema?: JsonSchema }> | undefined
      const mediaTypes = content === undefined ? [] : Object.keys(content)
      const firstSchema = mediaTypes.length === 0 ? undefined : content?.[mediaTypes[0] as string]?.schema
      routes.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: {
          type: 'object',
          properties: Object.fromEntries(queryParams.map((p) => [p.name, inline(p.schema ?? {}, components)])),
          required: queryParams.filter((p) => p.required === true).map((p) => p.name),
        },
        body: firstSchema === undefined ? null : { schema: inline(firstSchema, components), mediaTypes },
        panel: path.startsWith('/v1/affiliate/'),
      })
    }
  }
  return routes
}

/** Replaces `#/components/schemas/X` references by the schema itself (a cycle stops at depth 8). */
export function inline (schema: JsonSchema, components: Record<string, JsonSchema>, depth = 0): JsonSchema {
  if (depth > 8) return {}
  if (Array.isArray(schema)) return schema.map((s) => inline(s, components, depth + 1)) as unknown as JsonSchema
  if (schema === null || typeof schema !== 'object') return schema
  if (typeof schema.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(schema.$ref)?.[1]
    const target = name === undefined ? undefined : components[decodeURIComponent(name)]
    return target === undefined ? {} : inline(target, components, depth + 1)
  }
  const out: JsonSchema = {}
  for (const [key, value] of Object.entries(schema)) {
    out[key] = value !== null && typeof value === 'object' ? inline(value, components, depth + 1) : value
  }
  return out
}

/** The path with each `{param}` replaced. */
export function fillPath (path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_match, name: string) => values[name] ?? '1')
}
