import fc from 'fast-check'
import type { JsonSchema } from './openapi-routes.js'

// fast-check arbitraries for hostile input: values shaped by a route's JSON Schema, then bent. Every URL
// they make points at 127.0.0.1 (a closed port), so a fuzzed postback can never send traffic elsewhere.

export const SQL_INJECTIONS = [
  "'; drop table offers; --",
  '" or 1=1 --',
  "' OR '1'='1",
  '\\',
  "\\'; select pg_sleep(5); --",
  '$1 $$ $body$',
  "Robert'); DROP TABLE affiliates;--",
]

export const UNICODE_SAMPLES = [
  'Ωmega ≈ ç √ ∫ 日本語 中文 한국어',
  '🚀🔥👩‍👩‍👧‍👦',
  '\u202eRTL override\u202c',
  'e\u0301 combining',
  '\uFEFFbom',
  'ｆｕｌｌｗｉｄｔｈ',
]

const ODD_STRINGS = [
  '', ' ', '\t\n', 'null', 'undefined', 'true', '0', '-1', 'NaN', 'Infinity', '1e309', '0x10', '{clickid}', '{{sub1}}',
  '../../etc/passwd', '<script>alert(1)</script>', '%FF', '%', '%zz', '\u0000', 'a\u0000b', '\uD800', '\uDFFF', '\u2028\u2029',
  ...SQL_INJECTIONS, ...UNICODE_SAMPLES,
]

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(300, 5_000, 70_000).map((n) => 'x'.repeat(n))
)

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, 1e308, -1e308, Number.MIN_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)

/** Nested arrays or objects this deep: parsers and validators must neither overflow nor hang. */
export const deepValue: fc.Arbitrary<unknown> = fc.constantFrom(10, 100, 1_000).chain((depth) =>
  fc.constantFrom(
    JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown,
    JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) as unknown
  ))

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, [null], { '': null }, JSON.parse('{"__proto__":{"polluted":1}}') as unknown, { constructor: { prototype: { x: 1 } } }),
  fc.jsonValue({ maxDepth: 3 }),
  deepValue
)

/** A URL on this machine (a closed port) with random path, query and macros. */
export function localUrl (port: number): fc.Arbitrary<string> {
  return fc.tuple(
    fc.constantFrom('http', 'https', 'HTTP'),
    fc.stringMatching(/^[a-z0-9/_-]{0,20}$/),
    fc.array(fc.tuple(
      fc.stringMatching(/^[a-z_]{1,8}$/),
      fc.oneof(fc.constantFrom('{clickid}', '{sum}', '{status}', '{unknown}', '%FF', "';--"), fc.string({ maxLength: 10 }))
    ), { maxLength: 4 })
  ).map(([scheme, path, params]) =>
    `${scheme}://127.0.0.1:${port}/${path}${params.length === 0 ? '' : '?' + params.map(([k, v]) => `${k}=${encodeURI(v)}`).join('&')}`)
}

function isUrlSchema (schema: JsonSchema, name: string): boolean {
  return schema.format === 'uri' || /Hh\]\[Tt/.test(String(schema.pattern ?? '')) || /url$/i.test(name)
}

/** Values that (mostly) satisfy `schema`; `name` is the property it sits under. */
export function fromSchema (schema: JsonSchema, localPort: number, name = '', depth = 0): fc.Arbitrary<unknown> {
  if (depth > 5) return fc.constant(null)
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...(schema.enum as unknown[]))
  if ('const' in schema) return fc.constant(schema.const)
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined
  if (Array.isArray(variants) && variants.length > 0) {
    return fc.oneof(...variants.map((v) => fromSchema({ ...schema, oneOf: undefined, anyOf: undefined, ...v }, localPort, name, depth + 1)))
  }
  if (Array.isArray(schema.type)) {
    return fc.oneof(...(schema.type as string[]).map((type) => fromSchema({ ...schema, type }, localPort, name, depth + 1)))
  }
  switch (schema.type) {
    case 'null': return fc.constant(null)
    case 'boolean': return fc.boolean()
    case 'integer': return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 })
    case 'number': return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true })
    case 'string': return stringFor(schema, localPort, name)
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, localPort, name, depth + 1), { maxLength: Math.min(schema.maxItems ?? 4, 4) })
    case 'object': return objectFor(schema, localPort, depth)
    default: return fc.jsonValue({ maxDepth: 2 })
  }
}

function stringFor (schema: JsonSchema, localPort: number, name: string): fc.Arbitrary<string> {
  if (isUrlSchema(schema, name)) return localUrl(localPort)
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
  if (schema.format === 'email') return fc.emailAddress()
  const max = Math.min(schema.maxLength ?? 40, 40)
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).map((s) => s.slice(0, Math.max(max, schema.minLength ?? 0)))
    } catch {
      // A pattern JavaScript cannot compile: fall through to free text.
    }
  }
  return fc.string({ minLength: Math.min(schema.minLength ?? 0, max), maxLength: max })
}

function objectFor (schema: JsonSchema, localPort: number, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
  const names = Object.keys(properties)
  if (names.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 })
  const model = Object.fromEntries(names.map((n) => [n, fromSchema(properties[n] as JsonSchema, localPort, n, depth + 1)]))
  const requiredKeys = ((schema.required ?? []) as string[]).filter((n) => names.includes(n))
  return fc.record(model, { requiredKeys }) as fc.Arbitrary<Record<string, unknown>>
}

/** A schema-shaped object with one member (existing or new) replaced by a hostile value, or one removed. */
export function mutated (schema: JsonSchema, localPort: number): fc.Arbitrary<unknown> {
  return fc.tuple(objectFor(schema, localPort, 0), fc.nat(), hostileValue, fc.constantFrom('replace', 'add', 'remove')).map(
    ([object, pick, value, how]) => {
      const keys = Object.keys(object)
      const copy: Record<string, unknown> = { ...object }
      const key = keys.length === 0 || how === 'add' ? `unknown_${pick % 7}` : (keys[pick % keys.length] as string)
      if (how === 'remove') delete copy[key]
      else copy[key] = value
      return copy
    })
}
