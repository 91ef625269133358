import t from 'tap'
import { admin, build, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate, createOffer } from '../helpers/fixtures.js'

// Times that look valid (RFC 3339 allows the first) but that no database stores: each must be a 400 that
// names its field, on every list that filters by time, never a 500.
const BAD_TIMES = [
  '2026-06-30T23:59:60Z', // a leap second
  '2026-12-31T23:59:60+01:00',
  '2026-06-30T23:59:60.5Z',
  '0000-01-01T00:00:00Z', // year zero
  '0000-01-01',
  '0001-01-01T00:00:00+23:59', // year 1 as written, but before it in UTC
  '9999-12-31T23:59:59-23:59', // year 9999 as written, year 10000 in UTC
  '2026-02-30T00:00:00Z',
  '2026-02-29',
  '2026-01-01T00:00:00+24:00',
  '2026-06-30T24:00:00Z',
  '2026-13-01',
  '2026-01-01T00:00:00+05', // an offset without minutes is not RFC 3339
]

// The edges of what is stored, and RFC 3339's other spellings: a 200, never a 500.
const GOOD_TIMES = [
  '2026-06-30T23:59:59Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-06-30T23:59:59.123456789Z',
  '2026-01-01T05:30:00+05:30',
  '2026-01-01t00:00:00z',
]
const GOOD_DATES = ['0001-01-01', '9999-12-31', '2024-02-29']

interface Parameter { name: string; in: string; schema?: { format?: string; anyOf?: Array<{ format?: string }> } }
interface Operation { parameters?: Parameter[]; security?: Array<Record<string, unknown>> }

const accepts = (parameter: Parameter, format: string) =>
  parameter.schema?.format === format || (parameter.schema?.anyOf ?? []).some((s) => s.format === format)

for (const engine of ['postgres', 'pglite'] as const) {
  t.test(`${engine}: every time filter of every list refuses unstorable times with a 400 naming the field`, async (t) => {
    const { app } = await build(t, { engine })
    const offer = await createOffer(app)
    const affiliate = await createAffiliate(app)
    // `{id}`: the one list under an object's own id is the offer's caps.
    const ids: Record<string, number> = { offer_id: offer.id, affiliate_id: affiliate.id, id: offer.id }
    const document = app.swagger() as { paths: Record<string, { get?: Operation }> }
    let checked = 0
    for (const [template, item] of Object.entries(document.paths)) {
      const get = item.get
      if (get === undefined) continue
      const timeFilters = (get.parameters ?? []).filter((p) => p.in === 'query' && accepts(p, 'date-time'))
      if (timeFilters.length === 0) continue
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
        if (ids[name] === undefined) throw new Error(`${template}: no id for {${name}}`)
        return String(ids[name])
      })
      const headers = JSON.stringify(get.security ?? []).includes('affiliateKey') ? asAffiliate(affiliate) : admin
      for (const filter of timeFilters) {
        for (const value of BAD_TIMES) {
          const res = await inject(app, { method: 'GET', url: `${path}?${filter.name}=${encodeURIComponent(value)}`, headers })
          t.equal(res.statusCode, 400, `${path}?${filter.name}=${value}: ${res.statusCode} ${res.body.slice(0, 200)}`)
          t.match(res.json(), { errors: [{ path: `/${filter.name}` }] }, `${path}: names ${filter.name}`)
          checked++
        }
        for (const value of [...GOOD_TIMES, ...(accepts(filter, 'date') ? GOOD_DATES : [])]) {
          const res = await inject(app, { method: 'GET', url: `${path}?${filter.name}=${encodeURIComponent(value)}`, headers })
          t.equal(res.statusCode, 200, `${path}?${filter.name}=${value}: ${res.statusCode} ${res.body.slice(0, 200)}`)
        }
      }
    }
    t.ok(checked >= BAD_TIMES.length * 30, `${checked} filter values checked`)
  })
}

// A cursor is opaque, but a client can forge one: keys out of range are a 400 naming the cursor, never a 500.
const cursor = (keys: unknown[]) => Buffer.from(JSON.stringify(keys)).toString('base64url')
const FORGED_CURSORS = [
  `/v1/clicks?cursor=${cursor(['+275760-09-13T00:00:00.000Z', 'a'])}`,
  `/v1/clicks?cursor=${cursor(['-000001-01-01T00:00:00.000Z', 'a'])}`,
  `/v1/clicks?cursor=${cursor(['0000-06-01T00:00:00.000Z', 'a'])}`,
  `/v1/conversions?updated_since=2026-01-01T00:00:00Z&cursor=${cursor(['0000-01-01T00:00:00.000000Z', 1])}`,
  `/v1/conversions?updated_since=2026-01-01T00:00:00Z&cursor=${cursor(['2026-02-30T00:00:00.000000Z', 1])}`,
  `/v1/conversions?updated_since=2026-01-01T00:00:00Z&cursor=${cursor(['2026-06-30T23:59:60.000000Z', 1])}`,
  `/v1/advertisers?cursor=${cursor([1.5])}`,
  `/v1/advertisers?cursor=${cursor([1e300])}`,
  `/v1/conversions?cursor=${cursor([-1e20])}`,
]

for (const engine of ['postgres', 'pglite'] as const) {
  t.test(`${engine}: forged cursors with keys out of range are a 400 naming the cursor`, async (t) => {
    const { app } = await build(t, { engine })
    for (const url of FORGED_CURSORS) {
      const res = await inject(app, { method: 'GET', url })
      t.equal(res.statusCode, 400, `${url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
      t.match(res.json(), { errors: [{ path: '/cursor' }] }, `${url}: names the cursor`)
    }
  })
}
