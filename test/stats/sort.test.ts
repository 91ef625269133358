import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { advertiserPostback, click, createAffiliate, createOffer } from '../helpers/fixtures.js'

type Row = Record<string, string | number | null>
interface Report { data: Row[]; next_cursor: string | null; totals: Row[] }

/**
 * Three offers (two in USD, one in EUR) whose rows differ in every metric sorted by, over a period that starts
 * after the click of offer C: C's conversion counts there without a click, so its CR and EPC are null.
 */
t.test('sort: the keys, then the group fields and currency ascending; nulls last both ways; text byte-wise; pages walk it once', async (t) => {
  const { app } = await build(t)
  const goal = (payout: number) => [{ value: '1', title: 'Sale', type: 'fixed', revenue: payout * 2, payout }]
  const a = await createOffer(app, { currency: 'USD', goals: goal(2) })
  const b = await createOffer(app, { currency: 'EUR', goals: goal(3) })
  const c = await createOffer(app, { currency: 'USD', goals: goal(5) })
  const affiliate = await createAffiliate(app)
  const early = await click(app, c.id, affiliate.id, { sub1: 'z' })
  await app.clickRecorder.flush()
  const clickedAt = Date.now()
  // The period starts after C's click: the next millisecond, so every later click and conversion is in it.
  while (Date.now() <= clickedAt + 1) await new Promise((resolve) => setImmediate(resolve))
  const from = new Date(clickedAt + 1).toISOString()
  const to = new Date(clickedAt + 86_400_000).toISOString()
  const aClicks = [await click(app, a.id, affiliate.id, { sub1: 'a' }), await click(app, a.id, affiliate.id, { sub1: 'B' }), await click(app, a.id, affiliate.id, { sub1: 'é' })]
  const bClicks = [await click(app, b.id, affiliate.id, { sub1: 'a' }), await click(app, b.id, affiliate.id, { sub1: 'b' })]
  await app.clickRecorder.flush()
  for (const [n, clickid] of [aClicks[0], aClicks[1], bClicks[0], early].entries()) {
    const res = await advertiserPostback(app, { clickid: clickid as string, action_id: `order-${n}`, status: 1 })
    t.equal(res.statusCode, 200, `conversion ${n}: ${res.body}`)
  }

  const report = async (query: Record<string, string>): Promise<Report> => {
    const res = await inject(app, { method: 'GET', url: `/v1/stats?${new URLSearchParams({ from, to, ...query })}` })
    t.equal(res.statusCode, 200, `${JSON.stringify(query)}: ${res.body}`)
    return res.json() as Report
  }
  const byOffer = async (sort?: string) => (await report({ group_by: 'offer', ...(sort === undefined ? {} : { sort }) })).data.map((row) => row.offer_id)
  const cases: [sort: string | undefined, order: number[], why: string][] = [
    [undefined, [a.id, b.id, c.id], 'by the group field ascending'],
    ['-epc', [b.id, a.id, c.id], 'EPC 1.5, 1.3333, then C without clicks (null) last'],
    ['epc', [a.id, b.id, c.id], 'null last ascending too'],
    ['-cr', [a.id, b.id, c.id], 'CR 66.6667 before 50, null last'],
    ['-payout', [c.id, a.id, b.id], 'payout 5 (C), 4 (A: two conversions of 2), 3 (B)'],
    ['currency,-clicks', [b.id, a.id, c.id], 'EUR before USD, then clicks descending'],
    ['-conversions,offer', [a.id, b.id, c.id], 'ties on conversions fall to the group field'],
    ['-profit', [c.id, a.id, b.id], 'profit 5, 4, 3'],
  ]
  for (const [sort, order, why] of cases) t.same(await byOffer(sort), order, `${sort ?? 'default'}: ${why}`)

  const bySub = await report({ group_by: 'sub1' })
  t.same(bySub.data.map((row) => `${row.sub1}/${row.currency}`), ['B/USD', 'a/EUR', 'a/USD', 'b/EUR', 'z/USD', 'é/USD'],
    'text sorts byte-wise (capitals first, accents after z), whatever the database\'s collation; then currency')

  // Pages of one row walk the same order as one page of all, with the totals of the whole result on each.
  for (const sort of ['-clicks', 'sub1', '-epc,currency']) {
    const whole = await report({ group_by: 'sub1', sort })
    const walked: Row[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Report = await report({ group_by: 'sub1', sort, limit: '1', ...(cursor === null ? {} : { cursor }) })
      t.same(page.totals, whole.totals, `${sort}: the totals on page ${pages + 1}`)
      walked.push(...page.data)
      cursor = page.next_cursor
      pages++
    } while (cursor !== null && pages < 20)
    t.same(walked, whole.data, `${sort}: ${pages} pages, each row once`)
    t.equal(pages, whole.data.length, `${sort}: one page per row, the last without a cursor`)
  }
  const csv = await inject(app, { method: 'GET', url: `/v1/stats?${new URLSearchParams({ from, to, group_by: 'offer', sort: '-epc' })}`, headers: { accept: 'text/csv' } })
  t.same(csv.body.split('\r\n').slice(1, -1).map((line) => Number(line.split(',')[0])), [b.id, a.id, c.id], 'CSV in the same order')
})
