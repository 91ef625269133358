import t from 'tap'
import { formatAmountPlain } from '../../src/domain/money.js'
import { asProblem } from '../../src/http/problem.js'
import { parseQueryString } from '../../src/http/query-string.js'
import { collectParameters, logParameters, parsePostback, type PostbackRequest } from '../../src/intake/parse.js'

const CLICK = '5ec25b044a4f2b0001211111'

function parse (...sources: Record<string, unknown>[]) {
  return parsePostback(collectParameters(...sources))
}

function accepted (params: Record<string, unknown>): PostbackRequest {
  const result = parse(params)
  if (!result.ok) throw new Error(`expected acceptance, got ${result.error.message}`)
  return result.request
}

t.test('parsing: accepted parameters', async (t) => {
  const r = accepted({
    clickid: CLICK.toUpperCase(),
    action_id: '2026-11-23 18:00:00.123',
    goal: 'Sale',
    sum: '0.1',
    status: 'Confirmed',
    ip: '2001:db8::1',
    country: 'de',
    order_currency: 'eur',
    comment: 'hi',
    custom_field1: 'a',
    custom_field15: 'z',
  })
  t.equal(r.clickid, CLICK, 'click id lowercased')
  t.equal(r.actionId, '2026-11-23 18:00:00.123')
  t.equal(r.goal, 'Sale')
  t.equal(formatAmountPlain(r.sum as bigint), '0.1')
  t.equal(r.status, 'approved')
  t.equal(r.country, 'DE')
  t.equal(r.orderCurrency, 'eur', 'order_currency kept as sent (§4.2)')
  t.same(r.customFields, { custom_field1: 'a', custom_field15: 'z' })

  const defaults = accepted({ click_id: CLICK })
  t.equal(defaults.clickid, CLICK, 'click_id is an alias')
  t.equal(defaults.goal, '1', 'goal defaults to 1')
  t.equal(defaults.status, null)
  t.equal(defaults.sum, null)

  t.same(accepted({ clickid: CLICK, sum: '', status: '', goal: '' }), { ...defaults }, 'empty values count as absent')
  for (const [text, status] of [['1', 'approved'], ['approved', 'approved'], ['2', 'pending'], ['PENDING', 'pending'], ['3', 'declined'], ['declined', 'declined'], ['5', 'hold'], ['hold', 'hold']] as const) {
    t.equal(accepted({ clickid: CLICK, status: text }).status, status, `status ${text}`)
  }
  t.equal(formatAmountPlain(accepted({ clickid: CLICK, sum: '12.500000' }).sum as bigint), '12.5', 'trailing zeros beyond 4 decimals are exact')
  t.equal(formatAmountPlain(accepted({ clickid: CLICK, sum: 150 }).sum as bigint), '150', 'a JSON number')

  const probabilistic = accepted({ offer_id: '7', pid: '9', action_id: 'x' })
  t.same([probabilistic.clickid, probabilistic.offerId, probabilistic.affiliateId], [null, 7, 9])
})

t.test('parsing: 400s in the contract order, with Affise wording', async (t) => {
  const cases: { name: string; params: Record<string, unknown>; detail: string | RegExp; path?: string }[] = [
    { name: 'nothing', params: {}, detail: 'Missing mandatory parameter clickid/click_id' },
    { name: 'empty clickid', params: { clickid: '' }, detail: 'Missing mandatory parameter clickid/click_id' },
    { name: 'probabilistic without action_id', params: { offer_id: '1', pid: '2' }, detail: 'Missing mandatory parameter clickid/click_id' },
    { name: 'probabilistic without pid', params: { offer_id: '1', action_id: 'a' }, detail: 'Missing mandatory parameter clickid/click_id' },
    { name: 'short clickid', params: { clickid: 'abc' }, detail: 'Broken clickid', path: '/clickid' },
    { name: 'non-hex clickid', params: { clickid: 'zzc25b044a4f2b0001211111' }, detail: 'Broken clickid' },
    { name: 'unfilled macro', params: { click_id: '{clickid}' }, detail: 'Broken clickid', path: '/click_id' },
    { name: 'broken clickid before bad sum', params: { clickid: 'x', sum: 'abc' }, detail: 'Broken clickid' },
    { name: 'non-numeric offer_id', params: { offer_id: 'abc', pid: '2', action_id: 'a' }, detail: /offer_id/, path: '/offer_id' },
    { name: 'zero pid', params: { offer_id: '1', pid: '0', action_id: 'a' }, detail: /pid/, path: '/pid' },
    { name: 'non-numeric sum', params: { clickid: CLICK, sum: 'abc' }, detail: /sum/, path: '/sum' },
    { name: 'negative sum', params: { clickid: CLICK, sum: '-1' }, detail: /sum/, path: '/sum' },
    { name: '5 decimals', params: { clickid: CLICK, sum: '1.00001' }, detail: /sum/, path: '/sum' },
    { name: 'comma decimal', params: { clickid: CLICK, sum: '1,5' }, detail: /sum/, path: '/sum' },
    { name: 'exponent', params: { clickid: CLICK, sum: '1e3' }, detail: /sum/, path: '/sum' },
    { name: 'too large', params: { clickid: CLICK, sum: '123456789012' }, detail: /sum/, path: '/sum' },
    { name: 'unknown status', params: { clickid: CLICK, status: '4' }, detail: /status/, path: '/status' },
    { name: 'unknown status name', params: { clickid: CLICK, status: 'rejected' }, detail: /status/, path: '/status' },
    { name: 'bad ip', params: { clickid: CLICK, ip: '999.1.1.1' }, detail: /ip/, path: '/ip' },
    { name: 'bad country', params: { clickid: CLICK, country: 'DEU' }, detail: /country/, path: '/country' },
    { name: 'bad currency', params: { clickid: CLICK, order_currency: 'E1R' }, detail: /order_currency/, path: '/order_currency' },
    { name: 'overlong action_id', params: { clickid: CLICK, action_id: 'a'.repeat(256) }, detail: /action_id.*255/, path: '/action_id' },
    { name: 'overlong comment', params: { clickid: CLICK, comment: 'c'.repeat(256) }, detail: /comment.*255/, path: '/comment' },
    { name: 'overlong custom field', params: { clickid: CLICK, custom_field7: 'c'.repeat(256) }, detail: /custom_field7/, path: '/custom_field7' },
    { name: 'NUL in a value', params: { clickid: CLICK, comment: 'a\u0000b' }, detail: /comment/, path: '/comment' },
    { name: 'structured JSON value', params: { clickid: CLICK, comment: { a: 1 } }, detail: /comment/, path: '/comment' },
  ]
  for (const c of cases) {
    const result = parse(c.params)
    t.equal(result.ok, false, c.name)
    if (result.ok) continue
    t.equal(asProblem(result.error)?.status, 400, `${c.name}: 400`)
    t.match(result.error.message, c.detail, `${c.name}: detail`)
    if (c.path !== undefined) t.equal(result.error.errors?.[0]?.path, c.path, `${c.name}: path`)
  }
  t.ok(parse({ clickid: CLICK, action_id: 'a'.repeat(255) }).ok, '255 characters are fine')
})

t.test('parsing: repeated parameters, query before body', async (t) => {
  t.equal(accepted({ clickid: CLICK, status: ['3', '1'] }).status, 'declined', 'first value of a repeated form field')
  const merged = parse({ clickid: CLICK, status: '1' }, { status: '3', sum: '5' })
  t.ok(merged.ok)
  if (merged.ok) t.same([merged.request.status, formatAmountPlain(merged.request.sum as bigint)], ['approved', '5'], 'query wins, body fills in')
})

t.test('the log keeps parameters without secure, 50 extras at most, each cut at 255', async (t) => {
  const extras = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x${i}`, 'v'.repeat(300)]))
  const params = { clickid: CLICK, secure: 'top-secret', SECURE: 'also', comment: 'c'.repeat(300), ...extras }
  const log = logParameters(collectParameters(params))
  t.notOk('secure' in log)
  t.notOk('SECURE' in log)
  t.notOk(JSON.stringify(log).includes('top-secret'))
  t.equal(Object.keys(log).filter((name) => name.startsWith('x')).length, 50)
  t.ok(Object.values(log).every((value) => value.length <= 255))
  t.equal(log.clickid, CLICK)
  const rejected = parse(params)
  t.equal(rejected.ok, false, 'the overlong comment is refused')
  t.same(rejected.logParams, log, 'and logged alike')
  const proto = logParameters(collectParameters(parseQueryString(`__proto__=kept&clickid=${CLICK}`)))
  t.same(Object.entries(proto), [['__proto__', 'kept'], ['clickid', CLICK]], 'a parameter named __proto__ is an ordinary one')
  t.equal(logParameters(collectParameters({ a: 'x\u0000y\ud800' })).a, 'x\uFFFDy\uFFFD', 'unstorable characters are replaced in the log')
})

t.test('255 characters are characters, not UTF-16 units: an emoji is one, and none is cut in half', async (t) => {
  const emoji = '\u{1F600}'
  t.ok(parse({ clickid: CLICK, comment: emoji.repeat(255) }).ok, '255 emoji are 255 characters')
  const over = parse({ clickid: CLICK, comment: emoji.repeat(256) })
  t.equal(over.ok, false, '256 are too many')
  const log = logParameters(collectParameters({ note: `a${emoji.repeat(300)}`, [emoji.repeat(300)]: 'x' }))
  t.equal(log.note, `a${emoji.repeat(254)}`, 'a long extra value is cut after 255 whole characters')
  t.equal(log[emoji.repeat(255)], 'x', 'so is a long name')
  t.notOk(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/.test(JSON.stringify(log).replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')), 'no lone surrogate')
})

t.test('a JSON body nested thousands deep is read, not a stack overflow', async (t) => {
  let deep: unknown = 'bottom'
  for (let i = 0; i < 50_000; i++) deep = [deep]
  const params = collectParameters({ clickid: CLICK, x: deep })
  t.equal(params.get('x'), 'bottom', 'an array gives its first value, however deep')
  t.ok(parse(Object.fromEntries(params)).ok)
})
