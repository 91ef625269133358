import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { collectIds, createAffiliate, createOffer, createPostback, createTrackingDomain, mergePatch, settled } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery, insertTrackingLinkRow } from '../helpers/seeds.js'

async function defaults (app: Parameters<typeof collectIds>[0]) {
  const res = await inject(app, { method: 'GET', url: '/v1/tracking-domains?limit=500' })
  return (res.json().data as { id: number; is_default: boolean }[]).filter((d) => d.is_default).map((d) => d.id)
}

t.test('tracking domains: create, read, list, patch, delete', async (t) => {
  const { app } = await build(t)
  const created = await inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'Track.Example.COM' } })
  t.equal(created.statusCode, 201)
  const domain = created.json()
  t.same(Object.keys(domain).sort(), ['allow_http', 'allow_https', 'created_at', 'hostname', 'id', 'is_default'])
  t.match(domain, { id: Number, hostname: 'track.example.com', allow_http: true, allow_https: true, is_default: true })
  t.match(domain.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const read = await inject(app, { method: 'GET', url: `/v1/tracking-domains/${domain.id}` })
  t.equal(read.statusCode, 200)
  t.same(read.json(), domain)

  const patched = await mergePatch(app, `/v1/tracking-domains/${domain.id}`, { allow_http: false, hostname: 'Go.Example.com' })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { hostname: 'go.example.com', allow_http: false, allow_https: true, is_default: true })

  const list = await inject(app, { method: 'GET', url: '/v1/tracking-domains' })
  t.equal(list.statusCode, 200)
  t.same(list.json(), { data: [patched.json()], next_cursor: null })

  t.equal((await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${domain.id}` })).statusCode, 204)
  t.equal((await inject(app, { method: 'GET', url: `/v1/tracking-domains/${domain.id}` })).statusCode, 404)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${domain.id}` })).statusCode, 404)
  t.equal((await mergePatch(app, `/v1/tracking-domains/${domain.id}`, { allow_http: true })).statusCode, 404)
})

t.test('tracking domains: exactly one default', async (t) => {
  const { app } = await build(t)
  const first = await createTrackingDomain(app, { is_default: false })
  t.equal(first.is_default, true, 'the first domain becomes the default whatever the body says')
  const second = await createTrackingDomain(app)
  t.equal(second.is_default, false)
  t.same(await defaults(app), [first.id])

  const third = await createTrackingDomain(app, { is_default: true })
  t.equal(third.is_default, true, 'creating with is_default moves the flag')
  t.same(await defaults(app), [third.id])

  const moved = await mergePatch(app, `/v1/tracking-domains/${second.id}`, { is_default: true })
  t.equal(moved.statusCode, 200)
  t.equal(moved.json().is_default, true)
  t.same(await defaults(app), [second.id])

  const unset = await mergePatch(app, `/v1/tracking-domains/${second.id}`, { is_default: false })
  t.equal(unset.statusCode, 422, 'the default cannot be unset, only moved')
  t.equal(unset.json().errors[0].path, '/is_default')
  t.same(await defaults(app), [second.id])

  const noop = await mergePatch(app, `/v1/tracking-domains/${first.id}`, { is_default: false })
  t.equal(noop.statusCode, 200, 'is_default: false on a non-default domain changes nothing')
  t.same(await defaults(app), [second.id])

  // Deleting the default promotes the oldest remaining domain.
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${second.id}` })).statusCode, 204)
  t.same(await defaults(app), [first.id])
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${first.id}` })).statusCode, 204)
  t.same(await defaults(app), [third.id])
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${third.id}` })).statusCode, 204)
  t.same(await defaults(app), [])

  const again = await createTrackingDomain(app)
  t.equal(again.is_default, true, 'with no domain left, the next one becomes the default')
})

t.test('tracking domains: concurrent first creations still give one default', async (t) => {
  const { app } = await build(t)
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => createTrackingDomain(app)))
  t.equal(results.filter((d) => d.is_default).length, 1)
  t.equal((await defaults(app)).length, 1)
})

t.test('tracking domains: protocols', async (t) => {
  const { app } = await build(t)
  const neither = await inject(app, {
    method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'a.example.com', allow_http: false, allow_https: false },
  })
  t.equal(neither.statusCode, 422)
  t.same(neither.json().errors.map((e: { path: string }) => e.path), ['/allow_http', '/allow_https'])

  const httpsOnly = await createTrackingDomain(app, { allow_http: false })
  t.match(httpsOnly, { allow_http: false, allow_https: true })
  const off = await mergePatch(app, `/v1/tracking-domains/${httpsOnly.id}`, { allow_https: false })
  t.equal(off.statusCode, 422, 'a patch that leaves neither protocol is refused')
  const swap = await mergePatch(app, `/v1/tracking-domains/${httpsOnly.id}`, { allow_https: false, allow_http: true })
  t.equal(swap.statusCode, 200)
  t.match(swap.json(), { allow_http: true, allow_https: false })
})

t.test('tracking domains: hostnames', async (t) => {
  const { app } = await build(t)
  for (const hostname of ['https://track.example.com', 'track.example.com/x', 'track.example.com:8080', '-bad.example.com',
    'bad..example.com', '127.0.0.1', 'under_score.example.com', `${'a'.repeat(64)}.example.com`, '']) {
    const res = await inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname } })
    t.equal(res.statusCode, 400, `${JSON.stringify(hostname)} is refused`)
    t.equal(res.json().errors[0].path, '/hostname')
  }
  const local = await createTrackingDomain(app, { hostname: 'localhost' })
  t.equal(local.hostname, 'localhost', 'a single-label name is accepted')

  await createTrackingDomain(app, { hostname: 'dup.example.com' })
  const dup = await inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'DUP.example.com' } })
  t.equal(dup.statusCode, 409, 'hostnames are unique ignoring case')
  t.match(dup.json().detail, /dup\.example\.com/)
  const renamed = await mergePatch(app, `/v1/tracking-domains/${local.id}`, { hostname: 'Dup.Example.com' })
  t.equal(renamed.statusCode, 409)
  const self = await mergePatch(app, `/v1/tracking-domains/${local.id}`, { hostname: 'LOCALHOST' })
  t.equal(self.statusCode, 200, 'renaming to its own hostname is fine')
  const badPatch = await mergePatch(app, `/v1/tracking-domains/${local.id}`, { hostname: 'x y' })
  t.equal(badPatch.statusCode, 400)
  t.equal(badPatch.json().errors[0].path, '/hostname')
})

t.test('tracking domains: bad input', async (t) => {
  const { app } = await build(t)
  const domain = await createTrackingDomain(app)
  const cases: { name: string; res: Promise<{ statusCode: number; json(): { errors?: { path: string }[] } }>; status: number; path?: string }[] = [
    { name: 'missing hostname', res: inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: {} }), status: 400, path: '/hostname' },
    { name: 'unknown field', res: inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'x.example.com', ssl: true } }), status: 400, path: '/ssl' },
    { name: 'wrong type', res: inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'x.example.com', allow_http: 'yes' } }), status: 400, path: '/allow_http' },
    { name: 'null on a non-nullable field', res: mergePatch(app, `/v1/tracking-domains/${domain.id}`, { allow_http: null }), status: 400, path: '/allow_http' },
    { name: 'non-numeric id', res: inject(app, { method: 'GET', url: '/v1/tracking-domains/abc' }), status: 400, path: '/id' },
    { name: 'unknown query parameter', res: inject(app, { method: 'GET', url: '/v1/tracking-domains?hostname=x' }), status: 400, path: '/hostname' },
    { name: 'unknown id', res: inject(app, { method: 'GET', url: '/v1/tracking-domains/999999' }), status: 404 },
  ]
  for (const c of cases) {
    const res = await c.res
    t.equal(res.statusCode, c.status, c.name)
    if (c.path !== undefined) t.equal(res.json().errors?.[0]?.path, c.path, `${c.name}: path`)
  }
})

t.test('tracking domains: pagination and created filters', async (t) => {
  const { app } = await build(t)
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push((await createTrackingDomain(app)).id)
  t.same(await collectIds(app, '/v1/tracking-domains?limit=2'), [...ids].reverse())
  const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString())
  t.same((await inject(app, { method: 'GET', url: `/v1/tracking-domains?created_from=${future}` })).json().data, [])
})

t.test('tracking domains: delete refused while offers or tracking links use it', async (t) => {
  const { app } = await build(t)
  const domain = await createTrackingDomain(app)
  const offer = await createOffer(app, { tracking_domain_id: domain.id })
  const byOffer = await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${domain.id}` })
  t.equal(byOffer.statusCode, 409)
  t.match(byOffer.json().detail, /offers/)

  await mergePatch(app, `/v1/offers/${offer.id}`, { tracking_domain_id: null })
  const affiliate = await createAffiliate(app)
  await insertTrackingLinkRow(app, { offer_id: offer.id, affiliate_id: affiliate.id, tracking_domain_id: domain.id })
  const byLink = await inject(app, { method: 'DELETE', url: `/v1/tracking-domains/${domain.id}` })
  t.equal(byLink.statusCode, 409)
  t.match(byLink.json().detail, /tracking links/)
  t.equal((await inject(app, { method: 'GET', url: `/v1/tracking-domains/${domain.id}` })).json().is_default, true)
})

t.test('tracking domains: a hostname that postbacks send to may become one; their deliveries are then refused at send', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  const affiliate = scene.affiliate
  const first = await createPostback(app, { affiliate_id: affiliate.id, url: 'https://Partner.Example.net./pb?c={clickid}' })
  const second = await createPostback(app, { affiliate_id: affiliate.id, url: 'http://user@partner.example.net:8080/other', method: 'POST' })
  // The sender reads hosts as WHATWG URLs do: an escaped dot is the same host.
  const escaped = await createPostback(app, { affiliate_id: affiliate.id, url: 'https://partner%2Eexample.net/pb' })

  // §2: creating (or renaming to) such a host is no conflict; §5.1: the postbacks are refused again at send.
  const created = await inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'PARTNER.example.net' } })
  t.equal(created.statusCode, 201)
  const other = await createTrackingDomain(app, { hostname: 'track.example.com' })
  const renamed = await mergePatch(app, `/v1/tracking-domains/${other.id}`, { hostname: 'partner2.example.net' })
  t.equal(renamed.statusCode, 200)

  const rendered: Array<[number, string]> = [
    [first.id, 'https://Partner.Example.net./pb?c=abc'], [second.id, 'http://user@partner.example.net:8080/other'],
    [escaped.id, 'https://partner%2Eexample.net/pb'],
  ]
  for (const [postbackId, url] of rendered) {
    const id = await insertDelivery(app, scene, { postbackId, url })
    const delivery = await settled(app, id, 5000)
    t.match(delivery, { state: 'failed', attempts: 1, next_attempt_at: null }, `${url}: refused once, never retried`)
    t.match(delivery.last_error, /partner\.example\.net is a tracking domain of this service/, `${url}: the attempt says why`)
  }
  // And from then on, the postback side refuses the host at save (contract §5.1).
  const refused = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/postbacks`, payload: { url: 'https://partner.example.net/pb' } })
  t.equal(refused.statusCode, 422)
})
