import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate, mergePatch } from '../helpers/fixtures.js'

t.test('signing secrets: admin and panel issue and delete; shown once; wrong callers refused', async (t) => {
  const { app } = await build(t)
  const a = await createAffiliate(app)
  const b = await createAffiliate(app)

  const issued = await inject(app, { method: 'POST', url: `/v1/affiliates/${a.id}/signing-secret` })
  t.equal(issued.statusCode, 200)
  t.same(Object.keys(issued.json()), ['secret'])
  const secret = issued.json().secret as string
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)

  // Never shown again: not on the affiliate, in either place.
  for (const res of [
    await inject(app, { method: 'GET', url: `/v1/affiliates/${a.id}` }),
    await inject(app, { method: 'GET', url: '/v1/affiliates' }),
    await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(a) }),
  ]) {
    t.equal(res.statusCode, 200)
    t.notOk(res.body.includes(secret.slice(6, 20)), 'the secret is not in the answer')
    t.notOk(res.body.includes('secret'), 'nor any field about it')
  }
  t.equal((await mergePatch(app, `/v1/affiliates/${a.id}`, { secret: 'x' })).statusCode, 400, 'not writable by PATCH')

  // The panel acts on the caller only.
  const own = await app.inject({ method: 'POST', url: '/v1/affiliate/signing-secret', headers: asAffiliate(b) })
  t.equal(own.statusCode, 200)
  const rows = await app.db.selectFrom('affiliate_signing_secrets').select(['affiliate_id', 'expires_at']).orderBy('id').execute()
  t.same(rows.map((r) => [r.affiliate_id, r.expires_at]), [[a.id, null], [b.id, null]], 'b\'s call left a\'s secret alone')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/affiliate/signing-secret', headers: asAffiliate(b) })).statusCode, 204)
  const left = await app.db.selectFrom('affiliate_signing_secrets').select('affiliate_id').execute()
  t.same(left.map((r) => r.affiliate_id), [a.id])

  const cases: [string, Promise<{ statusCode: number; headers: Record<string, unknown> }>, number][] = [
    ['unknown affiliate', inject(app, { method: 'POST', url: '/v1/affiliates/999999/signing-secret' }), 404],
    ['unknown affiliate, delete', inject(app, { method: 'DELETE', url: '/v1/affiliates/999999/signing-secret' }), 404],
    ['bad id', inject(app, { method: 'POST', url: '/v1/affiliates/abc/signing-secret' }), 400],
    ['no key', app.inject({ method: 'POST', url: `/v1/affiliates/${a.id}/signing-secret` }), 401],
    ['affiliate key on admin route', app.inject({ method: 'POST', url: `/v1/affiliates/${a.id}/signing-secret`, headers: asAffiliate(a) }), 403],
    ['admin key on panel route', inject(app, { method: 'POST', url: '/v1/affiliate/signing-secret' }), 403],
    ['unknown query', inject(app, { method: 'POST', url: `/v1/affiliates/${a.id}/signing-secret?x=1` }), 400],
  ]
  for (const [name, request, status] of cases) {
    const res = await request
    t.equal(res.statusCode, status, name)
    t.match(res.headers['content-type'], /application\/problem\+json/, `${name}: problem+json`)
  }

  // An inactive affiliate has no panel access; deleting an affiliate takes its secret along.
  await mergePatch(app, `/v1/affiliates/${b.id}`, { status: 'inactive' })
  t.equal((await app.inject({ method: 'POST', url: '/v1/affiliate/signing-secret', headers: asAffiliate(b) })).statusCode, 403)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${a.id}` })).statusCode, 204)
  t.equal((await app.db.selectFrom('affiliate_signing_secrets').select('id').execute()).length, 0)
})

t.test('signing secrets: concurrent rotations leave one current secret and at most one in overlap', async (t) => {
  const { app } = await build(t)
  const a = await createAffiliate(app)
  const answers = await Promise.all(Array.from({ length: 8 }, () => inject(app, { method: 'POST', url: `/v1/affiliates/${a.id}/signing-secret` })))
  t.same(answers.map((r) => r.statusCode), Array(8).fill(200))
  t.equal(new Set(answers.map((r) => r.json().secret)).size, 8, 'each answer a new secret')
  const rows = await app.db.selectFrom('affiliate_signing_secrets').select(['expires_at']).where('affiliate_id', '=', a.id).execute()
  t.equal(rows.length, 2)
  t.equal(rows.filter((r) => r.expires_at === null).length, 1)
})
