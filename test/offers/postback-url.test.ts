import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { createAdvertiser, createOffer, createTrackingDomain, mergePatch } from '../helpers/fixtures.js'

const MACROS = 'postback?clickid={clickid}&action_id={action_id}&goal={goal}&sum={sum}&status={status}'

t.test('advertiser_postback_url: PUBLIC_URL verbatim without domains, then the default domain, then the offer\'s', async (t) => {
  const { app } = await build(t, { env: { PUBLIC_URL: 'http://tracker.example.net:8080/base' } })
  const offer = await createOffer(app)
  t.equal(offer.advertiser_postback_url, `http://tracker.example.net:8080/base/${MACROS}`)

  const byDefault = await createTrackingDomain(app, { hostname: 'default.example.com' })
  const read = async () => (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).json().advertiser_postback_url
  t.equal(await read(), `https://default.example.com/${MACROS}`, 'the default domain, https when allowed')

  const httpOnly = await createTrackingDomain(app, { hostname: 'plain.example.com', allow_https: false })
  const own = await mergePatch(app, `/v1/offers/${offer.id}`, { tracking_domain_id: httpOnly.id })
  t.equal(own.json().advertiser_postback_url, `http://plain.example.com/${MACROS}`, 'the offer\'s own domain, http when https is off')

  await mergePatch(app, `/v1/tracking-domains/${byDefault.id}`, { allow_https: false })
  await mergePatch(app, `/v1/offers/${offer.id}`, { tracking_domain_id: null })
  t.equal(await read(), `http://default.example.com/${MACROS}`)

  const list = await inject(app, { method: 'GET', url: '/v1/offers' })
  t.equal(list.json().data[0].advertiser_postback_url, `http://default.example.com/${MACROS}`, 'lists compute it too')
})

t.test('advertiser_postback_url: the offer\'s secure code, else the advertiser\'s, else none', async (t) => {
  const { app } = await build(t)
  const plain = await createOffer(app)
  t.equal(plain.advertiser_postback_url, `http://localhost:3000/${MACROS}`, 'no code, no secure parameter')

  const advertiser = await createAdvertiser(app, { secure_code: 'adv code&x' })
  const inherits = await createOffer(app, { advertiser_id: advertiser.id })
  t.equal(inherits.advertiser_postback_url, `http://localhost:3000/${MACROS}&secure=adv%20code%26x`, 'the advertiser\'s code, encoded')

  const ownCode = await createOffer(app, { advertiser_id: advertiser.id, secure_code: 'offer-code' })
  t.equal(ownCode.advertiser_postback_url, `http://localhost:3000/${MACROS}&secure=offer-code`, 'the offer\'s code wins')

  const cleared = await mergePatch(app, `/v1/offers/${ownCode.id}`, { secure_code: null })
  t.equal(cleared.json().advertiser_postback_url, `http://localhost:3000/${MACROS}&secure=adv%20code%26x`)

  await mergePatch(app, `/v1/advertisers/${advertiser.id}`, { secure_code: null })
  t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${ownCode.id}` })).json().advertiser_postback_url, `http://localhost:3000/${MACROS}`)

  const readOnly = await mergePatch(app, `/v1/offers/${ownCode.id}`, { advertiser_postback_url: 'https://x.example/' })
  t.equal(readOnly.statusCode, 400, 'the field is read-only')
  t.equal(readOnly.json().errors[0].path, '/advertiser_postback_url')
})
