import t from 'tap'
import type { Amount } from '../../src/domain/money.js'
import {
  formatAffiseDate,
  postbackMacroValues,
  renderPostbackRequest,
  type PostbackContext,
} from '../../src/domain/postback-render.js'

t.test('formatAffiseDate is UTC, seconds precision', async (t) => {
  const cases: [string, string][] = [
    ['2026-11-23T18:34:10.999Z', '2026-11-23 18:34:10'],
    ['2026-01-02T03:04:05.000+05:00', '2026-01-01 22:04:05'],
    ['1970-01-01T00:00:00.000Z', '1970-01-01 00:00:00'],
    ['2024-02-29T23:59:59.000Z', '2024-02-29 23:59:59'],
  ]
  for (const [iso, expected] of cases) t.equal(formatAffiseDate(new Date(iso)), expected, iso)
})

const full: PostbackContext = {
  conversionId: 901,
  clickid: 'aaaaaaaaaaaaaaaaaaaaaaaa',
  pid: 7,
  offerId: 42,
  offerName: 'Casino & Co',
  goal: 'deposit',
  actionId: '2026-11-23 18:00:00.123',
  payout: 99_980n as Amount,
  currency: 'USD',
  sum: 1_500_000n as Amount,
  orderCurrency: 'EUR',
  status: 'hold',
  conversionTime: new Date('2026-11-23T18:34:10.500Z'),
  clickTime: new Date('2026-11-23T18:00:00Z'),
  ip: '203.0.113.9',
  userAgent: 'Mozilla/5.0',
  country: 'DE',
  comment: 'first deposit',
  customFields: { custom_field1: 'c1', custom_field15: 'c15', custom_field16: 'ignored' },
  clickParams: { sub1: 'their-click', sub8: 's8', ref_id: 'r', ext1: 'e1', ext3: 'e3', other: 'x' },
  declineReason: null,
}

const empty: PostbackContext = {
  ...full,
  clickid: null,
  actionId: null,
  payout: 0n,
  sum: null,
  orderCurrency: null,
  status: 'approved',
  clickTime: null,
  ip: null,
  userAgent: null,
  country: null,
  comment: null,
  customFields: {},
  clickParams: {},
}

t.test('postbackMacroValues covers every §5.3 macro', async (t) => {
  const cases: [string, PostbackContext, Record<string, string>][] = [
    ['a full conversion', full, {
      sub1: 'their-click',
      sub2: '',
      sub3: '',
      sub4: '',
      sub5: '',
      sub6: '',
      sub7: '',
      sub8: 's8',
      ref_id: 'r',
      ext1: 'e1',
      ext2: '',
      ext3: 'e3',
      transactionid: '2026-11-23 18:00:00.123',
      offerid: '42',
      offer_id: '42',
      offer_name: 'Casino & Co',
      goal: 'deposit',
      sum: '9.998',
      payout: '9.998',
      currency: 'USD',
      order_sum: '150',
      order_currency: 'EUR',
      status: '5',
      status_name: 'hold',
      date: '2026-11-23 18:34:10',
      timestamp: '1795458850',
      click_date: '2026-11-23 18:00:00',
      ip: '203.0.113.9',
      uagent: 'Mozilla/5.0',
      geo: 'DE',
      comment: 'first deposit',
      custom_field1: 'c1',
      custom_field2: '',
      custom_field14: '',
      custom_field15: 'c15',
      clickid: 'aaaaaaaaaaaaaaaaaaaaaaaa',
      conversion_id: '901',
      pid: '7',
    }],
    ['a probabilistic conversion with nothing optional', empty, {
      sub1: '',
      ref_id: '',
      ext3: '',
      transactionid: '',
      sum: '0',
      payout: '0',
      order_sum: '',
      order_currency: '',
      status: '1',
      status_name: 'approved',
      click_date: '',
      ip: '',
      uagent: '',
      geo: '',
      comment: '',
      custom_field1: '',
      custom_field15: '',
      clickid: '',
      decline_reason: '',
    }],
    ['a conversion declined past a cap', { ...full, status: 'declined', declineReason: 'Cap is reached' }, {
      status: '3',
      status_name: 'declined',
      decline_reason: 'Cap is reached',
    }],
  ]
  for (const [name, ctx, expected] of cases) {
    const values = postbackMacroValues(ctx)
    for (const [macro, value] of Object.entries(expected)) t.equal(values[macro], value, `${name}: {${macro}}`)
    t.match(values.rand, /^[0-9a-f-]{36}$/, `${name}: {rand}`)
    t.notOk('custom_field16' in values, `${name}: only 15 custom fields`)
    t.notOk('other' in values, `${name}: only the known click params`)
  }
  const names = Object.keys(postbackMacroValues(full))
  t.equal(names.length, 12 + 24 + 15, 'sub/ref/ext, the named macros, 15 custom fields')
})

t.test('renderPostbackRequest', async (t) => {
  const values = {
    sub1: 'a b&c=d',
    goal: 'x#y?z',
    comment: '1+1 é 日本',
    empty: '',
  }
  const cases: [string, 'GET' | 'POST', string, string | null][] = [
    ['https://aff.example/pb?cid={sub1}&g={goal}', 'GET', 'https://aff.example/pb?cid=a%20b%26c%3Dd&g=x%23y%3Fz', null],
    ['https://aff.example/pb?cid={sub1}&g={goal}', 'POST', 'https://aff.example/pb', 'cid=a%20b%26c%3Dd&g=x%23y%3Fz'],
    // The URL as sent: a fragment never goes on the wire, so it is not kept either.
    ['https://aff.example/pb/{goal}?c={comment}#frag', 'GET',
      'https://aff.example/pb/x%23y%3Fz?c=1%2B1%20%C3%A9%20%E6%97%A5%E6%9C%AC', null],
    // The template's own raw characters are kept as the sender encodes them, host and default port as it sends them.
    ['https://AFF.example:443/p\u00e9 d?x=\u00fc&c={comment}', 'GET',
      'https://aff.example/p%C3%A9%20d?x=%C3%BC&c=1%2B1%20%C3%A9%20%E6%97%A5%E6%9C%AC', null],
    ['https://aff.example/p\u00e9?x=\u00fc', 'POST', 'https://aff.example/p%C3%A9', 'x=\u00fc'],
    ['https://aff.example/pb/{goal}?c={comment}#frag?x=1', 'POST',
      'https://aff.example/pb/x%23y%3Fz', 'c=1%2B1%20%C3%A9%20%E6%97%A5%E6%9C%AC'],
    ['https://aff.example/pb', 'POST', 'https://aff.example/pb', ''],
    ['https://aff.example/pb?', 'POST', 'https://aff.example/pb', ''],
    ['https://aff.example/pb#only-fragment', 'POST', 'https://aff.example/pb', ''],
    ['https://aff.example/pb?a={empty}&b={nope}&q=a?b', 'POST', 'https://aff.example/pb', 'a=&b=&q=a?b'],
  ]
  for (const [template, method, url, body] of cases) {
    t.same(renderPostbackRequest(template, method, values), { method, url, body }, `${method} ${template}`)
  }
})

t.test('a POST body decodes to exactly the values a GET query carries', async (t) => {
  const values = { sub1: 'a b&c=d', goal: 'x#y?z', comment: '1+1 é 日本', ext1: "%20'!*()" }
  const template = 'https://aff.example/pb?sub1={sub1}&goal={goal}&comment={comment}&ext1={ext1}'
  const get = renderPostbackRequest(template, 'GET', values)
  const post = renderPostbackRequest(template, 'POST', values)
  const fromGet = new URL(get.url).searchParams
  const fromPost = new URLSearchParams(post.body ?? '')
  for (const [name, value] of Object.entries(values)) {
    t.equal(fromGet.get(name), value, `GET ${name}`)
    t.equal(fromPost.get(name), value, `POST ${name}`)
  }
})
