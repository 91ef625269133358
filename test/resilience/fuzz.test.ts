import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import t from 'tap'
import { ADMIN_KEY, build } from '../helpers/build.js'
import { populateWorld } from '../helpers/scenes.js'
import { deepValue, fromSchema, hostileString, hostileValue, mutated } from '../helpers/hostile.js'
import { apiRoutes, fillPath, type ApiRoute } from '../helpers/openapi-routes.js'
import { problemViolation } from '../helpers/problem-check.js'
import { rawRequest } from '../helpers/raw-http.js'
import { closedPort } from '../helpers/sink.js'

// Property-based fuzzing of every route the OpenAPI document lists, plus the public tracking endpoints over
// a real socket. The property: never a 5xx, the process keeps answering, every 4xx is problem+json.
// Replay a failure with FUZZ_SEED=<seed> (the seed is printed below and in fast-check's report).

const SEED = Number(process.env.FUZZ_SEED ?? 20261123)
const RUNS = { v1: 400, click: 150, postback: 150 }

const { app } = await build(t, { env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'false', POSTBACK_TIMEOUT_MS: '500' } })
// Fuzzed postbacks point here: a closed local port, refused by the network guard before any connection.
const localPort = await closedPort()
const world = await populateWorld(app, `http://127.0.0.1:${localPort}`)
const routes = apiRoutes(app).filter((route) => route.path.startsWith('/v1/'))
await app.listen({ port: 0, host: '127.0.0.1' })
const port = (app.server.address() as { port: number }).port
t.comment(`fast-check seed ${SEED}; ${routes.length} /v1 routes from the OpenAPI document`)

// Affiliate B is the panel caller: its own id stays out of the pool so the admin fuzz cannot rotate its key
// or ban it midway; its objects are in the pool (its own, for panel routes), beside A's (another's: 404).
const realIds = [
  world.offer.id, world.advertiserId, world.a.affiliate.id, world.a.linkId, world.b.linkId, world.a.conversionId, world.b.conversionId,
  ...world.a.postbackIds, ...world.a.deliveryIds, ...world.b.postbackIds, ...world.b.deliveryIds,
].map(String)
const garbageIds = ['0', '-1', '2147483648', '99999999999999999999999', '1.5', '1e3', '0x1f', 'abc', '%FF', '%00', '%', '%20',
  'null', '%EF%BC%91', world.a.clickid, 'a'.repeat(250), '..', '%2F']

function safeEncode (value: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    return '%ED%A0%80' // a lone surrogate: invalid UTF-8 on the wire
  }
}

const pathId = fc.oneof(fc.constantFrom(...realIds), fc.constantFrom(...garbageIds), fc.integer().map(String),
  hostileString.map(safeEncode).filter((s) => s.length > 0 && s.length < 300))

const rawQueryValue = fc.oneof(
  hostileString.map(safeEncode),
  fc.constantFrom('%FF', '%', '%zz', '%00', '%E2%82', '+', '%2B', '%26', '', 'a'.repeat(10_240))
)

function queryFor (route: ApiRoute): fc.Arbitrary<string> {
  const known = Object.keys(route.query.properties as Record<string, unknown>)
  const name = known.length === 0 ? hostileString.map(safeEncode) : fc.oneof(fc.constantFrom(...known), hostileString.map(safeEncode))
  const shaped = fromSchema(route.query, localPort).map((value) =>
    Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${safeEncode(typeof v === 'string' ? v : JSON.stringify(v))}`))
  const random = fc.array(fc.tuple(name, rawQueryValue).map(([k, v]) => `${k}=${v}`), { maxLength: 5 })
  return fc.oneof(fc.constant([] as string[]), shaped, random, fc.tuple(shaped, random).map(([x, y]) => [...x, ...y]))
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`))
}

interface BodyCase {
  payload?: string
  contentType?: string
}

const BROKEN_JSON = ['{', '{"a":', 'nul', '[1,2', '{"a":1}garbage', '"\\ud800"', '1e99999', '\u0000', '{"a":1,"a":2}', '']

function bodyFor (route: ApiRoute): fc.Arbitrary<BodyCase> {
  if (route.body === null) {
    const stray = hostileValue.map((v) => ({ payload: JSON.stringify(v) ?? 'null', contentType: 'application/json' }))
    return fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: stray })
  }
  const { schema, mediaTypes } = route.body
  const mediaType = fc.constantFrom(...mediaTypes)
  const json = (value: fc.Arbitrary<unknown>) => fc.tuple(value, mediaType).map(([v, type]) => ({ payload: JSON.stringify(v) ?? 'null', contentType: type }))
  return fc.oneof(
    { weight: 3, arbitrary: json(fromSchema(schema, localPort)) },
    { weight: 4, arbitrary: json(mutated(schema, localPort)) },
    { weight: 2, arbitrary: json(hostileValue) },
    { weight: 1, arbitrary: json(deepValue) },
    { weight: 1, arbitrary: fc.constantFrom(...BROKEN_JSON).map((payload) => ({ payload, contentType: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
        'application/json; charset=latin1', 'application/octet-stream'), hostileString).map(([contentType, payload]) => ({ contentType, payload })),
    },
    { weight: 1, arbitrary: fc.constant({}) }
  )
}

const auth = fc.oneof({ weight: 12, arbitrary: fc.constant('right') }, { weight: 1, arbitrary: fc.constantFrom('none', 'garbage', 'other') })

function v1Case (route: ApiRoute): fc.Arbitrary<InjectOptions> {
  return fc.record({
    ids: fc.array(pathId, { minLength: route.pathParams.length, maxLength: route.pathParams.length }),
    query: queryFor(route),
    body: bodyFor(route),
    auth,
  }).map(({ ids, query, body, auth }) => {
    const path = fillPath(route.path, Object.fromEntries(route.pathParams.map((name, i) => [name, ids[i] as string])))
    const rightKey = route.panel ? world.b.key : ADMIN_KEY
    const headers: Record<string, string> = {}
    if (auth === 'right') headers['api-key'] = rightKey
    else if (auth === 'garbage') headers['api-key'] = "'; drop table affiliates; --"
    else if (auth === 'other') headers['api-key'] = route.panel ? ADMIN_KEY : world.a.key
    if (body.contentType !== undefined) headers['content-type'] = body.contentType
    return { method: route.method as InjectOptions['method'], url: path + query, headers, ...(body.payload === undefined ? {} : { payload: body.payload }) }
  })
}

async function judge (options: InjectOptions): Promise<number> {
  const res = await app.inject(options)
  const violation = problemViolation({ status: res.statusCode, headers: res.headers, body: res.body }, String(options.method))
  if (violation !== null) {
    throw new Error(`${options.method} ${String(options.url).slice(0, 300)} (body ${String(options.payload ?? '').slice(0, 200)}): ${violation}`)
  }
  return res.statusCode
}

function tally (statuses: Map<number, number>): string {
  return [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ')
}

t.test('every /v1 route, one hostile request each: the fixed nasty cases', async (t) => {
  const violations: string[] = []
  const nasty: { name: string; ids: string; query: string; payload?: string; contentType?: string }[] = [
    { name: 'undecodable id', ids: '%FF', query: '' },
    { name: 'id past int4', ids: '99999999999999999999', query: '' },
    { name: 'unknown and repeated query parameters', ids: '1', query: '?zz=1&limit=-1&limit=abc&cursor=%FF' },
    { name: 'broken JSON', ids: '1', query: '', payload: '{"a":', contentType: 'application/json' },
    { name: 'nesting 5000 deep', ids: '1', query: '', payload: '['.repeat(5000) + ']'.repeat(5000), contentType: 'application/json' },
    {
      name: '70 KB string',
      ids: '1',
      query: '',
      contentType: 'application/json',
      payload: JSON.stringify({ name: 'x'.repeat(70_000), title: 'x'.repeat(70_000), url: 'x'.repeat(70_000) }),
    },
    { name: 'plain text body', ids: '1', query: '', payload: 'hello', contentType: 'text/plain' },
  ]
  let sent = 0
  for (const route of routes) {
    for (const c of nasty) {
      const url = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, c.ids]))) + c.query
      const headers: Record<string, string> = { 'api-key': route.panel ? world.b.key : ADMIN_KEY }
      if (c.contentType !== undefined) headers['content-type'] = c.contentType
      try {
        await judge({ method: route.method as InjectOptions['method'], url, headers, ...(c.payload === undefined ? {} : { payload: c.payload }) })
      } catch (err) {
        violations.push(`${c.name}: ${(err as Error).message}`)
      }
      sent++
    }
  }
  t.comment(`${sent} requests over ${routes.length} routes`)
  t.same(violations, [], 'no 5xx, every 4xx problem+json')
})

t.test('/v1 routes: random and hostile paths, queries, bodies and keys', async (t) => {
  const statuses = new Map<number, number>()
  const perRoute = new Map<string, number>()
  const started = Date.now()
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: routes.length - 1 }).chain((i) => v1Case(routes[i] as ApiRoute).map((c) => ({ route: routes[i] as ApiRoute, c }))),
      async ({ route, c }) => {
        const status = await judge(c)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        perRoute.set(`${route.method} ${route.path}`, (perRoute.get(`${route.method} ${route.path}`) ?? 0) + 1)
      }),
    { seed: SEED, numRuns: RUNS.v1, interruptAfterTimeLimit: 60_000 }
  )
  t.comment(`${RUNS.v1} runs over ${perRoute.size} routes in ${Date.now() - started} ms; answers: ${tally(statuses)}`)
  t.ok(statuses.size > 2, 'the fuzz reached several kinds of answer')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'still answering')
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'the database is still fine')
})

const clickParamName = fc.oneof(
  fc.constantFrom('pid', 'offer_id', 'sub1', 'sub2', 'sub8', 'ref_id', 'ext1', 'ext3', 'clickid', 'PID', 'sub1[]', '__proto__', ''),
  hostileString.map(safeEncode).filter((s) => s.length < 100)
)
const clickParamValue = fc.oneof(
  fc.constantFrom(String(world.a.affiliate.id), String(world.offer.id), '{clickid}', '%7Bsub1%7D'),
  rawQueryValue
)

t.test('/click and /{shortcode} over a real socket: random query strings, %FF, repeats, 10 KB values', async (t) => {
  const statuses = new Map<number, number>()
  const started = Date.now()
  const path = fc.oneof(
    fc.constant('/click'), fc.constant(`/${world.a.shortcode}`), fc.stringMatching(/^\/[0-9A-Za-z]{6,9}$/),
    fc.constantFrom('/click/', '/CLICK', '/abc%FFdef', `/${world.a.shortcode}%00`, '/%')
  )
  const valid = fc.constant([`pid=${world.a.affiliate.id}`, `offer_id=${world.offer.id}`])
  const params = fc.array(fc.tuple(clickParamName, clickParamValue).map(([k, v]) => `${k}=${v}`), { maxLength: 8 })
  const target = fc.tuple(path, fc.oneof(params, fc.tuple(valid, params).map(([a, b]) => [...a, ...b]), fc.tuple(params, valid).map(([a, b]) => [...a, ...b])),
    fc.constantFrom('GET', 'GET', 'GET', 'HEAD'), fc.boolean())
  await fc.assert(
    fc.asyncProperty(target, async ([p, pairs, method, latin1]) => {
      const query = pairs.length === 0 ? '' : `?${pairs.join('&')}`
      // Some targets carry raw latin-1 bytes: malformed HTTP that the parser, not a route, must refuse politely.
      const wire = latin1 ? Buffer.concat([Buffer.from(p + query, 'latin1'), Buffer.from([0xff, 0xfe])]) : p + query
      const res = await rawRequest(port, method, wire)
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      const violation = problemViolation(res, method)
      if (violation !== null) throw new Error(`${method} ${(p + query).slice(0, 300)}: ${violation}`)
      if (res.status === 302 && res.headers.location === undefined) throw new Error(`302 without Location for ${p + query}`)
    }),
    { seed: SEED, numRuns: RUNS.click, interruptAfterTimeLimit: 30_000 }
  )
  t.comment(`${RUNS.click} runs in ${Date.now() - started} ms; answers: ${tally(statuses)}`)
  t.ok((statuses.get(302) ?? 0) > 0, 'valid clicks among them were redirected')
  t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'still answering')
})

const postbackName = fc.oneof(
  fc.constantFrom('clickid', 'click_id', 'action_id', 'goal', 'sum', 'status', 'secure', 'ip', 'country', 'order_currency', 'comment',
    'custom_field1', 'custom_field15', 'offer_id', 'pid', 'ios_idfa'),
  hostileString.map(safeEncode).filter((s) => s.length < 100)
)
const postbackValue = fc.oneof(
  fc.constantFrom(world.a.clickid, world.b.clickid, '1', '2', '3', '5', 'approved', 'declined', 'bogus', '150.5', '-1', '1e400', 'NaN',
    '0.00001', '999999999999999999.99999', '1,5', '::1', '999.1.1.1', 'ZZ', 'usd', String(world.offer.id), String(world.a.affiliate.id)),
  rawQueryValue,
  fc.constantFrom(300).map((n) => 'v'.repeat(n))
)

t.test('/postback over a real socket: GET query, POST form and POST JSON with hostile parameters', async (t) => {
  const statuses = new Map<number, number>()
  const started = Date.now()
  const pairs = fc.array(fc.tuple(postbackName, postbackValue), { maxLength: 10 })
  const withClick = fc.tuple(fc.constantFrom(world.a.clickid, world.b.clickid), pairs).map(([id, rest]) => [['clickid', id] as [string, string], ...rest])
  const shape = fc.constantFrom('get', 'form', 'json', 'json-hostile')
  await fc.assert(
    fc.asyncProperty(shape, fc.oneof(pairs, withClick), hostileValue, fc.integer({ min: 0, max: 60 }), async (how, params, hostile, extra) => {
      // Sometimes many unknown parameters (the contract keeps 50 of them).
      const all = [...params, ...Array.from({ length: extra > 50 ? extra : 0 }, (_v, i): [string, string] => [`extra${i}`, 'x'])]
      const query = all.map(([k, v]) => `${k}=${v}`).join('&')
      let res
      if (how === 'get') res = await rawRequest(port, 'GET', `/postback?${query}`)
      else if (how === 'form') res = await rawRequest(port, 'POST', '/postback', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: query })
      else {
        const decoded: Record<string, unknown> = {}
        for (const [k, v] of all) {
          let name = k
          try { name = decodeURIComponent(k) } catch { /* keep it raw */ }
          decoded[name] = how === 'json-hostile' && Object.keys(decoded).length === 0 ? hostile : v
        }
        const body = JSON.stringify(how === 'json-hostile' && all.length === 0 ? hostile : decoded) ?? 'null'
        res = await rawRequest(port, 'POST', '/postback', { headers: { 'content-type': 'application/json' }, body })
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      const violation = problemViolation(res, how === 'get' ? 'GET' : 'POST')
      if (violation !== null) throw new Error(`${how} /postback ${query.slice(0, 300)}: ${violation}`)
    }),
    { seed: SEED, numRuns: RUNS.postback, interruptAfterTimeLimit: 30_000 }
  )
  t.comment(`${RUNS.postback} runs in ${Date.now() - started} ms; answers: ${tally(statuses)}`)
  t.ok(statuses.size > 2, 'the fuzz reached several kinds of answer')
  t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'still answering')
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'the database is still fine')
})
