import t from 'tap'
import { build, inject, TEST_ENGINE } from '../helpers/build.js'
import { advertiserPostback, click, createAdvertiser, createAffiliate, createOffer, getConversion, mergePatch, patchOffer, serverPostbacks } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'

const UNKNOWN_CLICK = 'aaaaaaaaaaaaaaaaaaaaaaaa'

async function eventCount (app: Awaited<ReturnType<typeof build>>['app'], conversionId: number) {
  const rows = await app.db.selectFrom('conversion_events').select('id').where('conversion_id', '=', conversionId).execute()
  return rows.length
}

t.test('a new conversion: attribution through the click, defaults and copies', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { currency: 'EUR', goals: [{ value: 'Sale', title: 'Sale', type: 'fixed', revenue: 10, payout: 7.5 }] }, { sub1: 'aff-click-1' })

  const res = await advertiserPostback(app, {
    clickid: s.clickid,
    goal: 'sale',
    action_id: 'order-1',
    sum: '99.90',
    order_currency: 'usd',
    country: 'de',
    comment: 'first',
    custom_field1: 'cf1',
    custom_field15: 'cf15',
    ios_idfa: 'idfa-1',
  })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['conversion_id', 'conversion_status', 'duplicate', 'status', 'status_changed'])
  t.match(body, { status: 1, conversion_id: Number, conversion_status: 'pending', duplicate: false, status_changed: false })

  const conversion = await getConversion(app, body.conversion_id)
  t.match(conversion, {
    clickid: s.clickid,
    offer_id: s.offer.id,
    affiliate_id: s.affiliate.id,
    goal: 'Sale',
    action_id: 'order-1',
    status: 'pending',
    integration_method: 'default',
    sum: 99.9,
    revenue: 10,
    payout: 7.5,
    currency: 'EUR',
    order_currency: 'usd',
    ip: '203.0.113.7',
    user_agent: 'TestAgent/1.0',
    comment: 'first',
    custom_fields: { custom_field1: 'cf1', custom_field15: 'cf15' },
    country: 'DE',
    hold_until: null,
  })
  t.same(conversion.status_history.map(({ from, to, source }) => ({ from, to, source })), [{ from: null, to: 'pending', source: 'advertiser' }])
  const stored = await app.db.selectFrom('conversions').select(['click_params', 'click_created_at']).where('id', '=', body.conversion_id).executeTakeFirstOrThrow()
  t.same(stored.click_params, { sub1: 'aff-click-1' }, 'the click\'s params are copied for the dispatcher\'s macros')
  t.ok(stored.click_created_at instanceof Date)

  // The `ip` parameter wins over the click's; a new conversion without status takes the offer's default.
  await patchOffer(app, s.offer.id, { default_conversion_status: 'approved' })
  const second = await advertiserPostback(app, { clickid: s.clickid, goal: 'SALE', action_id: 'order-2', ip: '198.51.100.9' })
  t.equal(second.json().conversion_status, 'approved')
  t.match(await getConversion(app, second.json().conversion_id), { ip: '198.51.100.9', status: 'approved' })
})

t.test('POST with a form body, a JSON body, and the query string winning', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const form = await app.inject({
    method: 'POST',
    url: '/postback',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `clickid=${s.clickid}&action_id=f1&status=3&status=1`,
  })
  t.equal(form.statusCode, 200)
  t.equal(form.json().conversion_status, 'declined', 'first value of a repeated field')

  const json = await app.inject({ method: 'POST', url: '/postback', payload: { clickid: s.clickid, action_id: 'j1', sum: 12.5, status: 1 } })
  t.equal(json.statusCode, 200)
  t.match(await getConversion(app, json.json().conversion_id), { status: 'approved', sum: 12.5 })

  const mixed = await app.inject({ method: 'POST', url: `/postback?clickid=${s.clickid}&status=5`, payload: { action_id: 'm1', status: 3 } })
  t.equal(mixed.json().conversion_status, 'hold', 'the query string wins over the body')

  const badJson = await app.inject({ method: 'POST', url: `/postback?clickid=${s.clickid}`, headers: { 'content-type': 'application/json' }, payload: '{"sum":' })
  t.equal(badJson.statusCode, 400)
  t.equal(badJson.headers['content-type'], 'application/problem+json; charset=utf-8')
  const [logged] = await serverPostbacks(app, '?limit=1')
  t.match(logged, { method: 'POST', result: 'rejected', http_status: 400, params: { clickid: s.clickid } }, 'an unparseable body is logged too')
})

t.test('errors, judged in the contract\'s order', async (t) => {
  const { app } = await build(t)
  const advertiser = await createAdvertiser(app, { secure_code: 'adv-code' })
  const s = await clickScene(app, {
    advertiser_id: advertiser.id,
    secure_code: 'offer-code',
    goals: [{ value: '1', type: 'fixed', revenue: 1, payout: 1 }, { value: 'pct', type: 'percent', revenue: 20, payout: 60 }],
  })

  const cases: { name: string; params: Record<string, string>; status: number; detail: string | RegExp }[] = [
    { name: 'no click id', params: { action_id: 'a' }, status: 400, detail: 'Missing mandatory parameter clickid/click_id' },
    { name: 'broken click id', params: { clickid: 'abc123' }, status: 400, detail: 'Broken clickid' },
    { name: 'malformed sum beats an unknown click', params: { clickid: UNKNOWN_CLICK, sum: 'ten' }, status: 400, detail: /sum/ },
    { name: 'unknown status', params: { clickid: s.clickid, status: '7', secure: 'offer-code' }, status: 400, detail: /status/ },
    { name: 'overlong value', params: { clickid: s.clickid, comment: 'x'.repeat(256), secure: 'offer-code' }, status: 400, detail: /comment/ },
    { name: 'unknown click beats a wrong secure', params: { clickid: UNKNOWN_CLICK, secure: 'nope' }, status: 404, detail: 'Click not found' },
    { name: 'missing secure', params: { clickid: s.clickid }, status: 403, detail: 'Access denied' },
    { name: 'wrong secure', params: { clickid: s.clickid, secure: 'offer-codE' }, status: 403, detail: 'Access denied' },
    { name: 'the offer\'s code replaces the advertiser\'s', params: { clickid: s.clickid, secure: 'adv-code' }, status: 403, detail: 'Access denied' },
    { name: 'unknown goal', params: { clickid: s.clickid, secure: 'offer-code', goal: 'nope' }, status: 422, detail: 'Goal not found' },
    { name: 'percent goal without sum', params: { clickid: s.clickid, secure: 'offer-code', goal: 'PCT' }, status: 422, detail: 'Sum required' },
  ]
  for (const c of cases) {
    const res = await advertiserPostback(app, c.params)
    t.equal(res.statusCode, c.status, `${c.name}: status`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${c.name}: problem+json`)
    t.match(res.json(), { status: c.status, detail: c.detail, type: /^https:\/\//, request_id: String }, `${c.name}: detail`)
  }

  const ok = await advertiserPostback(app, { clickid: s.clickid, secure: 'offer-code', action_id: 'A-1' })
  t.equal(ok.statusCode, 200, 'the right code passes')

  // 409s: the same action_id from another click; a status change on a conversion that is no longer pending.
  const otherClick = await click(app, s.offer.id, s.affiliate.id)
  const exists = await advertiserPostback(app, { clickid: otherClick, secure: 'offer-code', action_id: 'A-1' })
  t.equal(exists.statusCode, 409)
  t.equal(exists.json().detail, 'Conversion exists')
  t.equal((await advertiserPostback(app, { clickid: s.clickid, secure: 'offer-code', action_id: 'A-1', status: '1' })).statusCode, 200)
  const notPending = await advertiserPostback(app, { clickid: s.clickid, secure: 'offer-code', action_id: 'A-1', status: '3' })
  t.equal(notPending.statusCode, 409)
  t.equal(notPending.json().detail, 'Conversion status is not pending')

  // An advertiser's code applies when the offer has none.
  const plain = await clickScene(app, { advertiser_id: advertiser.id })
  t.equal((await advertiserPostback(app, { clickid: plain.clickid })).json().detail, 'Access denied')
  t.equal((await advertiserPostback(app, { clickid: plain.clickid, secure: 'adv-code' })).statusCode, 200)
  await mergePatch(app, `/v1/advertisers/${advertiser.id}`, { secure_code: null })
  t.equal((await advertiserPostback(app, { clickid: plain.clickid, action_id: 'no-code' })).statusCode, 200, 'no code, no check')
})

t.test('a stopped offer and a banned affiliate refuse new conversions only', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { secure_code: 'code' })
  const pending = await advertiserPostback(app, { clickid: s.clickid, action_id: 'before', secure: 'code' })
  t.equal(pending.json().conversion_status, 'pending')

  await patchOffer(app, s.offer.id, { status: 'paused' })
  t.equal((await advertiserPostback(app, { clickid: s.clickid, action_id: 'paused', secure: 'code' })).statusCode, 200, 'paused: earlier clicks still convert')

  await patchOffer(app, s.offer.id, { status: 'stopped' })
  const refused = await advertiserPostback(app, { clickid: s.clickid, action_id: 'new', secure: 'code', goal: 'unknown-goal' })
  t.equal(refused.statusCode, 422)
  t.equal(refused.json().detail, 'Offer disabled', 'Offer disabled is judged before Goal not found')
  t.equal((await advertiserPostback(app, { clickid: s.clickid, action_id: 'new', secure: 'wrong' })).json().detail, 'Access denied', '403 before 422')
  const change = await advertiserPostback(app, { clickid: s.clickid, action_id: 'before', secure: 'code', status: '1' })
  t.match(change.json(), { conversion_status: 'approved', status_changed: true }, 'a status change on a stopped offer is accepted')

  await patchOffer(app, s.offer.id, { status: 'active' })
  await mergePatch(app, `/v1/affiliates/${s.affiliate.id}`, { status: 'banned' })
  const banned = await advertiserPostback(app, { clickid: s.clickid, action_id: 'after-ban', secure: 'code' })
  t.equal(banned.statusCode, 422)
  t.equal(banned.json().detail, 'Affiliate disabled')
  t.equal((await advertiserPostback(app, { clickid: s.clickid, action_id: 'paused', secure: 'code', status: '3' })).json().status_changed, true)

  await mergePatch(app, `/v1/affiliates/${s.affiliate.id}`, { status: 'inactive' })
  t.equal((await advertiserPostback(app, { clickid: s.clickid, action_id: 'inactive', secure: 'code' })).statusCode, 200, 'inactive (not banned) still converts')
})

t.test('repeats: idempotent without a new status, a change on pending, sum and fields updated', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { goals: [{ value: 'sale', type: 'percent', revenue: 20, payout: 60 }] })
  const first = await advertiserPostback(app, { clickid: s.clickid, goal: 'sale', sum: '150', comment: 'one', custom_field2: 'a' })
  t.equal(first.statusCode, 200)
  const id = first.json().conversion_id
  t.match(await getConversion(app, id), { sum: 150, revenue: 30, payout: 90, status: 'pending' })

  const again = await advertiserPostback(app, { clickid: s.clickid, goal: 'SALE', sum: '1', comment: 'ignored' })
  t.same(again.json(), { status: 1, conversion_id: id, conversion_status: 'pending', duplicate: true, status_changed: false })
  const same = await advertiserPostback(app, { clickid: s.clickid, goal: 'sale', status: 'pending' })
  t.same(same.json(), { status: 1, conversion_id: id, conversion_status: 'pending', duplicate: true, status_changed: false })
  t.match(await getConversion(app, id), { sum: 150, comment: 'one' }, 'nothing changed')
  t.equal(await eventCount(app, id), 1, 'nothing fired')

  const changed = await advertiserPostback(app, { clickid: s.clickid, goal: 'sale', status: '1', sum: '0.3', comment: 'two', custom_field3: 'b', order_currency: 'GBP' })
  t.same(changed.json(), { status: 1, conversion_id: id, conversion_status: 'approved', duplicate: true, status_changed: true })
  const conversion = await getConversion(app, id)
  t.match(conversion, { sum: 0.3, revenue: 0.06, payout: 0.18, comment: 'two', order_currency: 'GBP', custom_fields: { custom_field2: 'a', custom_field3: 'b' } })
  t.same(conversion.status_history.map(({ from, to, source }) => [from, to, source]), [[null, 'pending', 'advertiser'], ['pending', 'approved', 'advertiser']])

  const repeatApproved = await advertiserPostback(app, { clickid: s.clickid, goal: 'sale', status: 'confirmed' })
  t.same(repeatApproved.json().duplicate, true)
  t.equal(repeatApproved.json().status_changed, false)
})

t.test('payouts: percent of sum, half-up, exact decimals', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, {
    goals: [
      { value: 'pct', type: 'percent', revenue: 20, payout: 60 },
      { value: 'tiny', type: 'fixed', revenue: 0.1, payout: 0.2 },
      { value: 'round', type: 'percent', revenue: 33.3333, payout: 0.0001 },
    ],
  })
  const pct = await advertiserPostback(app, { clickid: s.clickid, goal: 'pct', sum: '150' })
  t.match(await getConversion(app, pct.json().conversion_id), { revenue: 30, payout: 90, sum: 150 })
  const tiny = await advertiserPostback(app, { clickid: s.clickid, goal: 'tiny', sum: '0.3' })
  t.match(await getConversion(app, tiny.json().conversion_id), { revenue: 0.1, payout: 0.2, sum: 0.3 })
  const round = await advertiserPostback(app, { clickid: s.clickid, goal: 'round', sum: '0.15' })
  // 0.15 × 33.3333% = 0.04999995 → 0.05; 0.15 × 0.0001% = 0.00000015 → 0
  t.match(await getConversion(app, round.json().conversion_id), { revenue: 0.05, payout: 0 })
  const stored = await app.db.selectFrom('conversions').select(['revenue', 'payout', 'sum']).where('id', '=', tiny.json().conversion_id).executeTakeFirstOrThrow()
  t.same(stored, { revenue: '0.1000', payout: '0.2000', sum: '0.3000' }, 'stored exactly')
})

t.test('uniqueness: action_id key, click key, allow_duplicate_conversions, goals', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { goals: [{ value: '1', type: 'fixed', revenue: 1, payout: 1 }, { value: 'upsell', type: 'fixed', revenue: 2, payout: 1 }] })
  const a = await advertiserPostback(app, { clickid: s.clickid })
  const b = await advertiserPostback(app, { clickid: s.clickid })
  t.equal(b.json().conversion_id, a.json().conversion_id, 'without action_id the click is the key')
  t.equal(b.json().duplicate, true)
  const upsell = await advertiserPostback(app, { clickid: s.clickid, goal: 'upsell' })
  t.not(upsell.json().conversion_id, a.json().conversion_id, 'another goal is another conversion')
  const withAction = await advertiserPostback(app, { clickid: s.clickid, action_id: 'x1' })
  t.not(withAction.json().conversion_id, a.json().conversion_id, 'an action_id is its own key')

  const dup = await clickScene(app, { allow_duplicate_conversions: true })
  const d1 = await advertiserPostback(app, { clickid: dup.clickid })
  const d2 = await advertiserPostback(app, { clickid: dup.clickid })
  t.not(d2.json().conversion_id, d1.json().conversion_id, 'duplicates allowed: the click key is lifted')
  t.equal(d2.json().duplicate, false)
  const e1 = await advertiserPostback(app, { clickid: dup.clickid, action_id: 'same' })
  const e2 = await advertiserPostback(app, { clickid: dup.clickid, action_id: 'same' })
  t.equal(e2.json().conversion_id, e1.json().conversion_id, 'the action_id key always holds')
  const other = await click(app, dup.offer.id, dup.affiliate.id)
  t.equal((await advertiserPostback(app, { clickid: other, action_id: 'same' })).json().detail, 'Conversion exists')
})

t.test('probabilistic attribution: offer_id + pid + action_id', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { probabilistic_attribution: true, secure_code: 'p-code' })
  const affiliate = await createAffiliate(app)
  const params = { offer_id: String(offer.id), pid: String(affiliate.id), action_id: 'p-1', secure: 'p-code', ip: '192.0.2.1' }

  t.equal((await advertiserPostback(app, { offer_id: offer.id, pid: affiliate.id, secure: 'p-code' })).json().detail, 'Missing mandatory parameter clickid/click_id', 'action_id is required')
  t.equal((await advertiserPostback(app, { ...params, offer_id: '999999' })).json().detail, 'Offer not found')
  t.equal((await advertiserPostback(app, { ...params, pid: '999999' })).json().detail, 'Affiliate not found')
  t.equal((await advertiserPostback(app, { ...params, secure: 'bad' })).statusCode, 403)

  const res = await advertiserPostback(app, params)
  t.equal(res.statusCode, 200)
  const conversion = await getConversion(app, res.json().conversion_id)
  t.match(conversion, { clickid: null, offer_id: offer.id, affiliate_id: affiliate.id, integration_method: 'probabilistic', ip: '192.0.2.1', user_agent: null })
  const update = await advertiserPostback(app, { ...params, status: '3' })
  t.match(update.json(), { conversion_id: conversion.id, status_changed: true, conversion_status: 'declined' })
  const anotherAffiliate = await createAffiliate(app)
  t.equal((await advertiserPostback(app, { ...params, pid: String(anotherAffiliate.id) })).json().detail, 'Conversion exists')

  const closed = await createOffer(app)
  const refused = await advertiserPostback(app, { offer_id: closed.id, pid: affiliate.id, action_id: 'p-2' })
  t.equal(refused.statusCode, 422)
  t.equal(refused.json().detail, 'Probabilistic attribution disabled')
})

t.test('the server-postback log: every call, without secure, filterable', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { secure_code: 'hush' })
  await advertiserPostback(app, { clickid: s.clickid, secure: 'hush', action_id: 'L1', idfa: 'abc' })
  await advertiserPostback(app, { clickid: s.clickid, secure: 'wrong', action_id: 'L2' })
  await advertiserPostback(app, { clickid: 'broken', secure: 'hush' })
  await app.inject({ method: 'POST', url: '/postback', payload: { clickid: s.clickid, secure: 'hush', action_id: 'L1', status: 1 } })

  const all = await serverPostbacks(app)
  t.equal(all.length, 4)
  t.notOk(JSON.stringify(all).includes('hush'), 'the secure code is never logged')
  t.notOk(all.some((entry) => 'secure' in entry.params))
  const [changed, broken, denied, created] = all
  t.match(created, { method: 'GET', result: 'accepted', http_status: 200, detail: null, conversion_id: Number, params: { clickid: s.clickid, action_id: 'L1', idfa: 'abc' } })
  t.match(denied, { result: 'rejected', http_status: 403, detail: 'Access denied', conversion_id: null })
  t.match(broken, { result: 'rejected', http_status: 400, detail: 'Broken clickid', params: { clickid: 'broken' } })
  t.match(changed, { method: 'POST', result: 'accepted', conversion_id: created?.conversion_id, params: { status: '1' } })

  t.equal((await serverPostbacks(app, '?result=rejected')).length, 2)
  t.equal((await serverPostbacks(app, `?offer_id=${s.offer.id}`)).length, 3, 'the broken one has no offer')
  t.equal((await serverPostbacks(app, `?clickid=${s.clickid}`)).length, 3)
  t.equal((await serverPostbacks(app, '?clickid=broken')).length, 1)
  const bad = await inject(app, { method: 'GET', url: '/v1/server-postbacks?result=maybe' })
  t.equal(bad.statusCode, 400)
  const raw = await app.db.selectFrom('server_postbacks').selectAll().execute()
  t.notOk(JSON.stringify(raw).includes('hush'), 'not stored anywhere in the log table')
  const conversions = await app.db.selectFrom('conversions').selectAll().execute()
  t.notOk(JSON.stringify(conversions).includes('hush'), 'nor with the conversion')
})

t.test('HEAD and other methods on /postback are 405; unknown clicks wait one flush interval', async (t) => {
  const { app, config } = await build(t)
  for (const method of ['HEAD', 'PUT', 'DELETE'] as const) {
    const res = await app.inject({ method, url: `/postback?clickid=${UNKNOWN_CLICK}` })
    t.equal(res.statusCode, 405, method)
    t.equal(res.headers.allow, 'GET, POST')
  }
  t.equal((await serverPostbacks(app)).length, 0, 'a HEAD is not an intake call')
  const started = Date.now()
  const res = await advertiserPostback(app, { clickid: UNKNOWN_CLICK })
  t.equal(res.statusCode, 404)
  t.ok(Date.now() - started >= config.clickFlushIntervalMs - 5, 'looked again after the flush interval')
})

t.test('a click still in this instance\'s buffer converts at once', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  const clickid = await click(app, offer.id, affiliate.id)
  // No flush in between: the conversion must find the click wherever it is.
  const res = await advertiserPostback(app, { clickid })
  t.equal(res.statusCode, 200)
  t.equal((await getConversion(app, res.json().conversion_id)).clickid, clickid)
})

t.test('a change to an offer, its goals, a secure code or an affiliate applies to the very next postback, on any instance', { skip: TEST_ENGINE === 'pglite' && 'one embedded database per process' }, async (t) => {
  const first = await build(t)
  const second = await build(t, { databaseUrl: first.databaseUrl })
  const advertiser = await createAdvertiser(first.app)
  const s = await clickScene(first.app, { advertiser_id: advertiser.id })
  let n = 0
  const via = (app: typeof first.app, params: Record<string, string> = {}) => advertiserPostback(app, { clickid: s.clickid, action_id: `c${++n}`, ...params })
  // Warm both instances' caches.
  t.equal((await via(first.app)).statusCode, 200)
  t.equal((await via(second.app)).statusCode, 200)

  await mergePatch(first.app, `/v1/advertisers/${advertiser.id}`, { secure_code: 'fresh' })
  t.equal((await via(second.app)).json().detail, 'Access denied', 'advertiser secure code')
  t.equal((await via(second.app, { secure: 'fresh' })).statusCode, 200)

  await patchOffer(first.app, s.offer.id, { goals: [{ value: 'lead', type: 'fixed', revenue: 2, payout: 1 }] })
  t.equal((await via(second.app, { secure: 'fresh', goal: 'lead' })).statusCode, 200, 'replaced goals')
  t.equal((await via(second.app, { secure: 'fresh' })).json().detail, 'Goal not found')

  await patchOffer(first.app, s.offer.id, { status: 'stopped' })
  t.equal((await via(second.app, { secure: 'fresh', goal: 'lead' })).json().detail, 'Offer disabled', 'offer status')
  await patchOffer(first.app, s.offer.id, { status: 'active' })
  await mergePatch(first.app, `/v1/affiliates/${s.affiliate.id}`, { status: 'banned' })
  t.equal((await via(second.app, { secure: 'fresh', goal: 'lead' })).json().detail, 'Affiliate disabled', 'affiliate status')
})

t.test('a postback carrying long non-ASCII or deeply nested extras is accepted and logged (§4.2: never fail for an extra)', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const emoji = '\u{1F600}'
  const res = await advertiserPostback(app, { clickid: s.clickid, action_id: 'emoji-1', comment: emoji.repeat(128), note: emoji.repeat(300) })
  t.equal(res.statusCode, 200, res.body)
  const deep = `${'['.repeat(20_000)}"bottom"${']'.repeat(20_000)}`
  const nested = await app.inject({
    method: 'POST',
    url: '/postback',
    headers: { 'content-type': 'application/json' },
    payload: `{"clickid":"${s.clickid}","action_id":"deep-1","x":${deep}}`,
  })
  t.equal(nested.statusCode, 200, nested.body)
  const logged = await serverPostbacks(app)
  const emojiEntry = logged.find((entry) => entry.params.action_id === 'emoji-1')
  t.equal(emojiEntry?.result, 'accepted')
  t.equal(emojiEntry?.params.note, emoji.repeat(255), 'cut after 255 whole characters')
  t.equal(emojiEntry?.params.comment, emoji.repeat(128))
  t.equal(logged.find((entry) => entry.params.action_id === 'deep-1')?.params.x, 'bottom')
})
