import t from 'tap'
import { admin, build, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate } from '../helpers/fixtures.js'

// Times that look valid (RFC 3339 allows the first) but that no database stores: each must be a 400 that
// names its field, on every list that filters by time, never a 500.
const BAD_TIMES = [
  '2026-06-30T23:59:60Z', // a leap second
  '2026-12-31T23:59:60+01:00',
  '0000-01-01T00:00:00Z', // year zero
  '0000-01-01',
  '2026-02-30T00:00:00Z',
  '2026-02-29',
  '2026-01-01T00:00:00+24:00',
  '2026-13-01',
]

interface Operation { path: string; parameters?: Array<{ name: string; in: string; schema?: { format?: string; anyOf?: Array<{ format?: string }> } }>; security?: Array<Record<string, unknown>> }

t.test('every time filter of every list refuses unstorable times with a 400 naming the field', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const document = app.swagger() as { paths: Record<string, { get?: Operation }> }
  let checked = 0
  for (const [path, item] of Object.entries(document.paths)) {
    const get = item.get
    if (get === undefined || path.includes('{')) continue
    const timeFilters = (get.parameters ?? []).filter((p) => p.in === 'query' &&
      (p.schema?.format === 'date-time' || (p.schema?.anyOf ?? []).some((s) => s.format === 'date-time')))
    const headers = JSON.stringify(get.security ?? []).includes('affiliateKey') ? asAffiliate(affiliate) : admin
    for (const filter of timeFilters) {
      for (const value of BAD_TIMES) {
        const res = await inject(app, { method: 'GET', url: `${path}?${filter.name}=${encodeURIComponent(value)}`, headers })
        t.equal(res.statusCode, 400, `${path}?${filter.name}=${value}: ${res.statusCode} ${res.body.slice(0, 200)}`)
        t.match(res.json(), { errors: [{ path: `/${filter.name}` }] }, `${path}: names ${filter.name}`)
        checked++
      }
      const good = await inject(app, { method: 'GET', url: `${path}?${filter.name}=2026-06-30T23:59:59Z`, headers })
      t.equal(good.statusCode, 200, `${path}?${filter.name}= a real time is accepted`)
    }
  }
  t.ok(checked >= BAD_TIMES.length * 8, `${checked} filter values checked`)
})
