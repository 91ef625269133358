import t from 'tap'
import { admin, build, inject } from '../helpers/build.js'
import { createAdvertiser, createAffiliate } from '../helpers/fixtures.js'

// Contract §1: JSON in and out; unknown body fields are a 400 on /v1. Generic clients send
// `Content-Type: application/json` on every call, also on calls that carry nothing.

t.test('an empty body sent as JSON is no body', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const rotated = await app.inject({
    method: 'POST', url: `/v1/affiliates/${affiliate.id}/api-key`, headers: { ...admin, 'content-type': 'application/json' },
  })
  t.equal(rotated.statusCode, 200, 'a route without a body')
  t.match(rotated.json().api_key, /^aff_/)

  const advertiser = await createAdvertiser(app)
  const deleted = await app.inject({
    method: 'DELETE', url: `/v1/advertisers/${advertiser.id}`, headers: { ...admin, 'content-type': 'application/json' },
  })
  t.equal(deleted.statusCode, 204, 'a DELETE')

  const required = await app.inject({ method: 'POST', url: '/v1/advertisers', headers: { ...admin, 'content-type': 'application/json' } })
  t.equal(required.statusCode, 400, 'a route whose body is required says so')
  t.equal(required.json().type, 'https://s2s-tracker.dev/problems/validation-error')

  const unknownRoute = await app.inject({ method: 'POST', url: '/v1/nothing-here', headers: { ...admin, 'content-type': 'application/json' } })
  t.equal(unknownRoute.statusCode, 404, 'an unknown route is a 404, not a body error')
})

t.test('a route that takes no body refuses one, naming its fields', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const url = `/v1/affiliates/${affiliate.id}/api-key`
  const cases = [
    { name: 'a field', payload: { x: 1 }, paths: ['/x'] },
    { name: 'two fields, one with a slash', payload: { a: 1, 'b/c': 2 }, paths: ['/a', '/b~1c'] },
    { name: 'an array', payload: [1, 2], paths: [''] },
    { name: 'a string', payload: '"text"', paths: [''] },
  ]
  for (const c of cases) {
    const res = await inject(app, {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: typeof c.payload === 'string' ? c.payload : JSON.stringify(c.payload),
    })
    t.equal(res.statusCode, 400, `${c.name}: 400`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.same(res.json().errors.map((e: { path: string }) => e.path), c.paths, `${c.name}: paths`)
  }
  const me = () => app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': affiliate.api_key } })
  t.equal((await me()).statusCode, 200, 'the refused requests did not rotate the key')
  const empty = await inject(app, { method: 'POST', url, payload: {} })
  t.equal(empty.statusCode, 200, 'an empty object is no body')
  t.equal((await me()).statusCode, 401, 'and the key was rotated')
})

t.test('/v1 takes JSON only: a form body is a 415; /postback still takes forms', async (t) => {
  const { app } = await build(t)
  const form = await app.inject({
    method: 'POST', url: '/v1/advertisers', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x',
  })
  t.equal(form.statusCode, 415)
  t.equal(form.json().type, 'https://s2s-tracker.dev/problems/unsupported-media-type')
  const listed = await inject(app, { method: 'GET', url: '/v1/advertisers' })
  t.same(listed.json().data, [], 'nothing was created')

  const postback = await app.inject({
    method: 'POST', url: '/postback', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'clickid=0123456789abcdef01234567',
  })
  t.not(postback.statusCode, 415, 'the advertiser postback parses forms')
  t.equal(postback.json().type, 'https://s2s-tracker.dev/problems/not-found', 'an unknown click: the form was read')
})
