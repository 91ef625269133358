import t from 'tap'
import { clickMacroValues, percentEncode, renderTemplate } from '../../src/domain/macros.js'

t.test('percentEncode follows RFC 3986', async (t) => {
  const cases: [string, string][] = [
    ['', ''],
    ['abcXYZ019-._~', 'abcXYZ019-._~'],
    ['a b', 'a%20b'],
    ["!'()*", '%21%27%28%29%2A'],
    ['&=?#/+:@;,$[]{}%', '%26%3D%3F%23%2F%2B%3A%40%3B%2C%24%5B%5D%7B%7D%25'],
    ['"<>\\^`|', '%22%3C%3E%5C%5E%60%7C'],
    ['é', '%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['😀', '%F0%9F%98%80'],
    ['\n\t\0', '%0A%09%00'],
    ['a\uD800b', 'a%EF%BF%BDb'], // lone high surrogate
    ['\uDC00', '%EF%BF%BD'], // lone low surrogate
    ['\uDC00\uD83D\uDE00\uD83D', '%EF%BF%BD%F0%9F%98%80%EF%BF%BD'],
  ]
  for (const [input, expected] of cases) t.equal(percentEncode(input), expected, JSON.stringify(input))
})

t.test('renderTemplate substitutes tokens and keeps everything else verbatim', async (t) => {
  const values = { clickid: 'abc123', sub1: 'a b&c', empty: '', missing: undefined, Sub2: 'upper' }
  const cases: [string, string][] = [
    ['https://adv.example/?cid={clickid}', 'https://adv.example/?cid=abc123'],
    ['https://adv.example/{clickid}/land?s={sub1}', 'https://adv.example/abc123/land?s=a%20b%26c'],
    ['https://adv.example/?a={unknown}&b={missing}&c={empty}', 'https://adv.example/?a=&b=&c='],
    ['https://adv.example/?x={constructor}{__proto__}{toString}{hasOwnProperty}', 'https://adv.example/?x='],
    ['{clickid}{clickid}', 'abc123abc123'],
    ['{{clickid}}', '{abc123}'],
    ['{CLICKID}|{Sub2}|{sub2}', '|upper|'],
    ['{click-id}{ clickid }{}{clickid', '{click-id}{ clickid }{}{clickid'],
    ['HTTPS://Adv.Example:443/%7Epath/../x?q=a+b&r=%20#frag{clickid}', 'HTTPS://Adv.Example:443/%7Epath/../x?q=a+b&r=%20#fragabc123'],
    ['https://adv.example/ä?x=日本', 'https://adv.example/ä?x=日本'],
    ['', ''],
  ]
  for (const [template, expected] of cases) t.equal(renderTemplate(template, values), expected, template)
})

t.test('renderTemplate never reads the prototype chain', async (t) => {
  const inherited = Object.create({ clickid: 'from-prototype' }) as Record<string, string>
  t.equal(renderTemplate('{clickid}', inherited), '')
  const bare = Object.assign(Object.create(null) as Record<string, string>, { clickid: 'x y' })
  t.equal(renderTemplate('{clickid}', bare), 'x%20y')
})

t.test('clickMacroValues covers every offer URL macro (§4.1)', async (t) => {
  const click = {
    clickid: '0123456789abcdef01234567',
    pid: 7,
    offerId: 42,
    params: { sub1: 'their id', sub8: 's8', ref_id: 'r', ext3: 'e3', other: 'not a macro' },
    ip: '203.0.113.9',
    userAgent: 'Mozilla/5.0 (X11)',
    referrer: null,
    time: new Date('2026-11-23T18:34:10.999Z'),
  }
  const values = clickMacroValues(click)
  const expected: Record<string, string> = {
    clickid: '0123456789abcdef01234567',
    click_id: '0123456789abcdef01234567',
    pid: '7',
    offer_id: '42',
    offerid: '42',
    sub1: 'their id',
    sub2: '',
    sub3: '',
    sub4: '',
    sub5: '',
    sub6: '',
    sub7: '',
    sub8: 's8',
    ref_id: 'r',
    ext1: '',
    ext2: '',
    ext3: 'e3',
    ip: '203.0.113.9',
    device_ua: 'Mozilla/5.0 (X11)',
    referrer: '',
    time: String(Date.UTC(2026, 10, 23, 18, 34, 10) / 1000),
  }
  for (const [name, value] of Object.entries(expected)) t.equal(values[name], value, name)
  t.match(values.rand, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'rand is a UUID')
  t.not(clickMacroValues(click).rand, values.rand, 'rand differs per click')
  t.same(Object.keys(values).sort(), [...Object.keys(expected), 'rand'].sort(), 'no other macros')
  t.equal(clickMacroValues({ ...click, referrer: 'https://ref.example/' }).referrer, 'https://ref.example/')

  const url = renderTemplate('https://adv.example/c?cid={clickid}&aff={pid}&s={sub1}&ua={device_ua}&t={time}&x={other}', values)
  t.equal(url, 'https://adv.example/c?cid=0123456789abcdef01234567&aff=7&s=their%20id&ua=Mozilla%2F5.0%20%28X11%29&t=1795458850&x=')
})
