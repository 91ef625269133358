import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { createOffer } from '../helpers/fixtures.js'

t.test('advertisers: create, read, list, patch, delete', async (t) => {
  const { app } = await build(t)

  const created = await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Acme', secure_code: 's3cret' } })
  t.equal(created.statusCode, 201)
  const advertiser = created.json()
  t.match(advertiser, { id: Number, name: 'Acme', status: 'active', secure_code: 's3cret' })
  t.match(advertiser.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const read = await inject(app, { method: 'GET', url: `/v1/advertisers/${advertiser.id}` })
  t.equal(read.statusCode, 200)
  t.same(read.json(), advertiser)

  const patched = await inject(app, {
    method: 'PATCH',
    url: `/v1/advertisers/${advertiser.id}`,
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ secure_code: null, status: 'inactive' }),
  })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { name: 'Acme', status: 'inactive', secure_code: null })

  const list = await inject(app, { method: 'GET', url: '/v1/advertisers?status=inactive' })
  t.equal(list.statusCode, 200)
  t.same(list.json().data.map((a: { id: number }) => a.id), [advertiser.id])
  t.equal(list.json().next_cursor, null)

  const deleted = await inject(app, { method: 'DELETE', url: `/v1/advertisers/${advertiser.id}` })
  t.equal(deleted.statusCode, 204)
  t.equal((await inject(app, { method: 'GET', url: `/v1/advertisers/${advertiser.id}` })).statusCode, 404)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/advertisers/${advertiser.id}` })).statusCode, 404)
})

t.test('advertisers: pagination walks every item once, newest first', async (t) => {
  const { app } = await build(t)
  const ids: number[] = []
  for (let i = 0; i < 7; i++) {
    ids.push((await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: `A${i}` } })).json().id)
  }
  const seen: number[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/advertisers?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`
    const page = await inject(app, { method: 'GET', url })
    t.equal(page.statusCode, 200)
    t.ok(page.json().data.length <= 3)
    seen.push(...page.json().data.map((a: { id: number }) => a.id))
    cursor = page.json().next_cursor
  } while (cursor !== null)
  t.same(seen, [...ids].reverse())

  const bad = await inject(app, { method: 'GET', url: '/v1/advertisers?cursor=garbage' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].path, '/cursor')

  const future = await inject(app, { method: 'GET', url: `/v1/advertisers?created_from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}` })
  t.same(future.json().data, [])
  const past = await inject(app, { method: 'GET', url: '/v1/advertisers?created_to=2000-01-01T00:00:00Z' })
  t.same(past.json().data, [])

  // A bare date is ISO 8601 too: created_from is its midnight, created_to takes in the whole day (UTC).
  const today = new Date().toISOString().slice(0, 10)
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
  const listed = async (query: string) => {
    const res = await inject(app, { method: 'GET', url: `/v1/advertisers?limit=500&${query}` })
    t.equal(res.statusCode, 200, query)
    return res.json().data.length as number
  }
  t.equal(await listed(`created_from=${today}&created_to=${today}`), ids.length, 'today, from and to')
  t.equal(await listed(`created_from=${tomorrow}`), 0, 'from tomorrow')
  t.equal(await listed('created_to=2000-01-01'), 0, 'to a day long past')
  for (const bad of ['2026-13-45', '2026-12', 'yesterday']) {
    const res = await inject(app, { method: 'GET', url: `/v1/advertisers?created_from=${bad}` })
    t.equal(res.statusCode, 400, bad)
    t.equal(res.json().errors?.[0]?.path, '/created_from', bad)
  }
})

t.test('advertisers: bad input is a clear 4xx problem', async (t) => {
  const { app } = await build(t)
  const cases: { name: string; req: Parameters<typeof inject>[1]; status: number; path?: string }[] = [
    { name: 'missing name', req: { method: 'POST', url: '/v1/advertisers', payload: {} }, status: 400, path: '/name' },
    { name: 'unknown field', req: { method: 'POST', url: '/v1/advertisers', payload: { name: 'x', colour: 'red' } }, status: 400, path: '/colour' },
    { name: 'wrong type', req: { method: 'POST', url: '/v1/advertisers', payload: { name: 5 } }, status: 400, path: '/name' },
    { name: 'bad enum', req: { method: 'POST', url: '/v1/advertisers', payload: { name: 'x', status: 'paused' } }, status: 400, path: '/status' },
    { name: 'malformed JSON', req: { method: 'POST', url: '/v1/advertisers', headers: { 'content-type': 'application/json' }, payload: '{"name":' }, status: 400 },
    { name: 'non-numeric id', req: { method: 'GET', url: '/v1/advertisers/abc' }, status: 400, path: '/id' },
    { name: 'unknown id', req: { method: 'GET', url: '/v1/advertisers/999999' }, status: 404 },
    { name: 'huge id (no advertiser can have it: 404)', req: { method: 'GET', url: '/v1/advertisers/99999999999999999999' }, status: 404 },
    { name: 'unknown query parameter', req: { method: 'GET', url: '/v1/advertisers?colour=red' }, status: 400, path: '/colour' },
    { name: 'limit out of range', req: { method: 'GET', url: '/v1/advertisers?limit=501' }, status: 400, path: '/limit' },
    { name: 'text body', req: { method: 'POST', url: '/v1/advertisers', headers: { 'content-type': 'text/plain' }, payload: 'hi' }, status: 415 },
  ]
  for (const c of cases) {
    const res = await inject(app, c.req)
    t.equal(res.statusCode, c.status, `${c.name}: status`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${c.name}: problem+json`)
    const body = res.json()
    t.match(body, { type: /^https:\/\//, title: String, status: c.status, detail: String, request_id: String }, c.name)
    if (c.path !== undefined) t.equal(body.errors?.[0]?.path, c.path, `${c.name}: path`)
  }
})

t.test('advertisers: delete refused while offers refer to it', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const res = await inject(app, { method: 'DELETE', url: `/v1/advertisers/${offer.advertiser_id}` })
  t.equal(res.statusCode, 409)
  t.equal(res.json().type, 'https://s2s-tracker.dev/problems/conflict')
})

t.test('unknown query parameters are refused on routes that take none', async (t) => {
  const { app } = await build(t)
  const created = await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Q' } })
  const res = await inject(app, { method: 'GET', url: `/v1/advertisers/${created.json().id}?verbose=1` })
  t.equal(res.statusCode, 400)
  t.equal(res.json().errors[0].path, '/verbose')
})
