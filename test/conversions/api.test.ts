import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { advertiserPostback, asAffiliate, click, createAffiliate, patchConversion } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'

type Item = { id: number; updated_at: string; [key: string]: unknown }

t.test('admin list: filters, newest first, pages', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const other = await clickScene(app)
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push((await advertiserPostback(app, { clickid: s.clickid, action_id: `a${i}`, status: i % 2 === 0 ? '1' : '2' })).json().conversion_id)
  const foreign = (await advertiserPostback(app, { clickid: other.clickid, action_id: 'a0' })).json().conversion_id as number

  const list = async (query: string) => {
    const res = await inject(app, { method: 'GET', url: `/v1/conversions${query}` })
    t.equal(res.statusCode, 200, query)
    return res.json() as { data: Item[]; next_cursor: string | null }
  }
  t.same((await list('')).data.map((c) => c.id), [foreign, ...[...ids].reverse()])
  t.same((await list(`?offer_id=${s.offer.id}&status=approved`)).data.map((c) => c.id), [ids[4], ids[2], ids[0]])
  t.same((await list(`?affiliate_id=${other.affiliate.id}`)).data.map((c) => c.id), [foreign])
  t.same((await list(`?clickid=${other.clickid}`)).data.map((c) => c.id), [foreign])
  t.same((await list(`?clickid=${other.clickid.toUpperCase()}`)).data.map((c) => c.id), [foreign], 'a click id matched ignoring case')
  t.same((await list('?action_id=a0')).data.map((c) => c.id), [foreign, ids[0]])
  const first = (await list('?limit=1')).data[0] as Item
  t.ok(Array.isArray(first.status_history) && 'revenue' in first, 'list items have the full shape')

  const seen: number[] = []
  let cursor: string | null = null
  do {
    const page: { data: Item[]; next_cursor: string | null } = await list(`?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
    seen.push(...page.data.map((c) => c.id))
    cursor = page.next_cursor
  } while (cursor !== null)
  t.same(seen, [foreign, ...[...ids].reverse()], 'cursor pages visit every conversion once')

  for (const query of ['?status=1', '?clickid=XYZ', '?colour=red', '?updated_since=yesterday', '?limit=0', '?cursor=junk']) {
    t.equal((await inject(app, { method: 'GET', url: `/v1/conversions${query}` })).statusCode, 400, query)
  }
  t.equal((await inject(app, { method: 'GET', url: '/v1/conversions/999999' })).statusCode, 404)
  t.equal((await inject(app, { method: 'GET', url: '/v1/conversions/abc' })).statusCode, 400)
})

t.test('admin list with updated_since: oldest change first, for syncing', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const since = new Date(Date.now() - 1000).toISOString()
  const ids: number[] = []
  for (let i = 0; i < 4; i++) ids.push((await advertiserPostback(app, { clickid: s.clickid, action_id: `u${i}` })).json().conversion_id)
  await patchConversion(app, ids[0] as number, { status: 'approved' })

  const walk = async (from: string) => {
    const seen: Item[] = []
    let cursor: string | null = null
    do {
      const url: string = `/v1/conversions?updated_since=${encodeURIComponent(from)}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
      const page = await inject(app, { method: 'GET', url })
      t.equal(page.statusCode, 200)
      seen.push(...(page.json().data as Item[]))
      cursor = page.json().next_cursor
    } while (cursor !== null)
    return seen
  }
  const seen = await walk(since)
  t.same(seen.map((c) => c.id), [ids[1], ids[2], ids[3], ids[0]], 'the most recently changed comes last')
  const times = seen.map((c) => Date.parse(c.updated_at))
  t.same(times, [...times].sort((a, b) => a - b))
  const last = seen[seen.length - 1] as Item
  t.same((await walk(last.updated_at)).map((c) => c.id), [ids[0]], 'asking again from the last updated_at')
})

t.test('affiliate panel: own conversions only, without revenue', async (t) => {
  const { app } = await build(t)
  const mine = await clickScene(app)
  const theirs = await clickScene(app, {})
  const second = await click(app, mine.offer.id, mine.affiliate.id)
  const a = (await advertiserPostback(app, { clickid: mine.clickid, status: '1' })).json().conversion_id
  const b = (await advertiserPostback(app, { clickid: second })).json().conversion_id
  await advertiserPostback(app, { clickid: theirs.clickid })

  const res = await app.inject({ method: 'GET', url: '/v1/affiliate/conversions', headers: asAffiliate(mine.affiliate) })
  t.equal(res.statusCode, 200)
  const data = res.json().data as Item[]
  t.same(data.map((c) => c.id), [b, a])
  t.ok(data.every((c) => !('revenue' in c) && 'payout' in c && Array.isArray(c.status_history)), 'no revenue')
  t.equal(res.body.includes('"revenue"'), false)

  const filtered = await app.inject({ method: 'GET', url: `/v1/affiliate/conversions?status=approved&offer_id=${mine.offer.id}`, headers: asAffiliate(mine.affiliate) })
  t.same(filtered.json().data.map((c: Item) => c.id), [a])
  const foreignOffer = await app.inject({ method: 'GET', url: `/v1/affiliate/conversions?offer_id=${theirs.offer.id}`, headers: asAffiliate(mine.affiliate) })
  t.same(foreignOffer.json().data, [], 'another affiliate\'s offer shows nothing')
  const spoof = await app.inject({ method: 'GET', url: `/v1/affiliate/conversions?affiliate_id=${theirs.affiliate.id}`, headers: asAffiliate(mine.affiliate) })
  t.equal(spoof.statusCode, 400, 'affiliate_id is not a panel filter')

  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/conversions' })).statusCode, 403, 'an admin key on a panel route')
  t.equal((await app.inject({ method: 'GET', url: '/v1/conversions', headers: asAffiliate(mine.affiliate) })).statusCode, 403, 'an affiliate key on an admin route')
  t.equal((await app.inject({ method: 'GET', url: '/v1/server-postbacks', headers: asAffiliate(mine.affiliate) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/conversions' })).statusCode, 401)

  const stranger = await createAffiliate(app)
  const empty = await app.inject({ method: 'GET', url: '/v1/affiliate/conversions', headers: asAffiliate(stranger) })
  t.same(empty.json(), { data: [], next_cursor: null })
})
