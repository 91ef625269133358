import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate } from '../helpers/fixtures.js'

// §1: an unknown id in the path is a 404, also one no object can ever have (0, negative, beyond the id range);
// a path segment that is not a whole number is a malformed request (400).
t.test('path ids: out of range is 404 like any unknown id; not a number is 400', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const cases: Array<[url: string, status: number, panel?: boolean]> = [
    ['/v1/offers/0', 404],
    ['/v1/offers/-1', 404],
    ['/v1/offers/2147483648', 404],
    ['/v1/offers/99999999999', 404],
    ['/v1/conversions/99999999999999999999', 404],
    ['/v1/postback-deliveries/0', 404],
    ['/v1/affiliate/postbacks/2147483648', 404, true],
    ['/v1/offers/999', 404],
    ['/v1/offers/abc', 400],
    ['/v1/offers/1.5', 400],
  ]
  for (const [url, status, panel] of cases) {
    const res = panel === true ? await app.inject({ method: 'GET', url, headers: asAffiliate(affiliate) }) : await inject(app, { method: 'GET', url })
    t.equal(res.statusCode, status, url)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${url}: problem+json`)
    t.match(res.json(), { status, type: status === 404 ? /not-found$/ : /validation-error$/ }, `${url}: its kind`)
  }
})
