import { createHash } from 'node:crypto'
import { Ajv, type AnySchema } from 'ajv'
import addFormats from 'ajv-formats'
import { fullFormats } from 'ajv-formats/dist/formats.js'
import { CURRENCY_CODES } from '../domain/money.js'
import { isStorableInstant } from '../domain/storable-time.js'
import { SerializerSelector, type Options, type RouteDefinition } from '@fastify/fast-json-stringify-compiler'

/**
 * Compiled validators and serializers, kept per process and keyed by the schema's text. One app
 * compiles each route schema once either way; but the test suite and `npm run openapi` build many
 * apps in one process, and compiling the ~100 routes' schemas was ~1 s of every start. The shared
 * (`$id`) schemas are module constants, so they are part of the key too and a change can never
 * reuse a stale function.
 */
const compiled = new Map<string, unknown>()

/** A short stand-in for the shared schemas' text (they are large; route keys include it). */
function digest (value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url')
}

function remember<T> (key: string, compile: () => T): T {
  if (compiled.has(key)) return compiled.get(key) as T
  const fn = compile()
  compiled.set(key, fn)
  return fn
}

const rfc3339DateTime = fullFormats['date-time'] as { validate: (value: string) => boolean }
const rfc3339Date = fullFormats.date as { validate: (value: string) => boolean }

/**
 * RFC 3339 allows what no clock stores: a leap second (`23:59:60`), the year 0000, and offsets that carry
 * a time of year 1 or 9999 out of those years in UTC. All are refused here, where the field is known,
 * instead of failing in the database as a 500.
 */
function isStorableDateTime (value: string): boolean {
  return rfc3339DateTime.validate(value) && !value.startsWith('0000') && isStorableInstant(Date.parse(value))
}

function isStorableDate (value: string): boolean {
  return rfc3339Date.validate(value) && !value.startsWith('0000')
}

/**
 * Two validators: JSON bodies are judged strictly (a "5" is not the integer 5, so a client's type bug
 * surfaces as a 400), while the query string and path, which are text by nature, are coerced.
 * Fastify's default would silently drop unknown fields; here they are errors.
 */
export function buildValidatorCompiler (externalSchemas: Record<string, unknown>) {
  const externalKey = digest(externalSchemas)
  const make = (coerceTypes: boolean) => {
    const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: true, strict: false })
    addFormats.default(ajv)
    ajv.addFormat('iso4217', (code: string) => CURRENCY_CODES.has(code))
    ajv.addFormat('date-time', { type: 'string', validate: isStorableDateTime })
    ajv.addFormat('date', { type: 'string', validate: isStorableDate })
    for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema as AnySchema)
    return ajv
  }
  let strict: Ajv | undefined
  let coercing: Ajv | undefined
  return ({ schema, httpPart }: { schema: unknown; httpPart?: string }) => {
    const isBody = httpPart === 'body'
    return remember(`validator:${isBody}:${externalKey}:${JSON.stringify(schema)}`, () =>
      isBody ? (strict ??= make(false)).compile(schema as AnySchema) : (coercing ??= make(true)).compile(schema as AnySchema))
  }
}

/** Fastify's own fast-json-stringify compiler, memoized like the validators. */
export function buildSerializerCompiler (externalSchemas: Record<string, unknown>, serializerOptions?: Options) {
  const externalKey = digest(externalSchemas)
  const compile = SerializerSelector()(externalSchemas, serializerOptions)
  return (route: RouteDefinition) =>
    remember(`serializer:${externalKey}:${JSON.stringify(serializerOptions)}:${JSON.stringify(route.schema)}`, () => compile(route))
}
