import t from 'tap'
import {
  advertiserPostbackUrl,
  buildShortUrl,
  buildTrackingUrl,
  canonicalParamsKey,
  encodeLinkValue,
  generateShortCode,
  isShortCode,
  LINK_PARAM_NAME,
  orderLinkParams,
  RESERVED_LINK_PARAMS,
} from '../../src/domain/links.js'

t.test('encodeLinkValue keeps macro tokens literal and encodes the rest', async (t) => {
  const cases: [string, string][] = [
    ['', ''],
    ['{clickid}', '{clickid}'],
    ['a{clickid}b c', 'a{clickid}b%20c'],
    ['{sub_1}{X9}', '{sub_1}{X9}'],
    ['{click-id}', '%7Bclick-id%7D'],
    ['{}', '%7B%7D'],
    ['{ a }', '%7B%20a%20%7D'],
    ['{{clickid}}', '%7B{clickid}%7D'],
    ['{clickid', '%7Bclickid'],
    ['x&y=z#f?', 'x%26y%3Dz%23f%3F'],
    ['日本 é', '%E6%97%A5%E6%9C%AC%20%C3%A9'],
    ["it's (ok)!", 'it%27s%20%28ok%29%21'],
  ]
  for (const [input, expected] of cases) t.equal(encodeLinkValue(input), expected, JSON.stringify(input))
})

t.test('orderLinkParams: known names in Affise order, then others by code unit', async (t) => {
  const cases: [Record<string, string>, string[]][] = [
    [{}, []],
    [{ ext1: 'e', sub10: 'x', sub2: 'b', ref_id: 'r', sub1: 'a' }, ['sub1', 'sub2', 'ref_id', 'ext1', 'sub10']],
    [{ zeta: '1', Alpha: '2', alpha: '3', _x: '4', 9: '5' }, ['9', 'Alpha', '_x', 'alpha', 'zeta']],
    [
      { ext3: '', ext2: '', ext1: '', ref_id: '', sub8: '', sub7: '', sub6: '', sub5: '', sub4: '', sub3: '', sub2: '', sub1: '' },
      ['sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'ref_id', 'ext1', 'ext2', 'ext3'],
    ],
  ]
  for (const [params, names] of cases) {
    const ordered = orderLinkParams(params)
    t.same(ordered.map(([name]) => name), names, names.join(','))
    for (const [name, value] of ordered) t.equal(value, params[name], `${name} keeps its value`)
  }
})

t.test('buildTrackingUrl', async (t) => {
  const cases: [string, number, number, Record<string, string>, string][] = [
    ['https://track.example.com', 7, 42, {}, 'https://track.example.com/click?pid=7&offer_id=42'],
    ['http://track.example.com', 7, 42, { sub1: '{clickid}' }, 'http://track.example.com/click?pid=7&offer_id=42&sub1={clickid}'],
    ['http://localhost:3000/t', 1, 2, { sub2: 'b c', sub1: 'a' }, 'http://localhost:3000/t/click?pid=1&offer_id=2&sub1=a&sub2=b%20c'],
    ['http://localhost:3000/', 1, 2, {}, 'http://localhost:3000/click?pid=1&offer_id=2'],
    ['http://localhost:3000/t//', 1, 2, {}, 'http://localhost:3000/t//click?pid=1&offer_id=2'],
    [
      'https://t.example',
      3,
      4,
      { zz: 'z', ext1: 'x&y', ref_id: 'r={sub1}', aa: '日' },
      'https://t.example/click?pid=3&offer_id=4&ref_id=r%3D{sub1}&ext1=x%26y&aa=%E6%97%A5&zz=z',
    ],
    ['https://t.example', 3, 4, { pid: '99', offer_id: '98', sub1: 'a' }, 'https://t.example/click?pid=3&offer_id=4&sub1=a'],
  ]
  for (const [base, pid, offerId, params, expected] of cases) {
    t.equal(buildTrackingUrl(base, pid, offerId, params), expected, expected)
  }
})

t.test('short and advertiser postback URLs', async (t) => {
  t.equal(buildShortUrl('https://t.example', 'Ab3dE6gh9K'), 'https://t.example/Ab3dE6gh9K')
  t.equal(buildShortUrl('http://localhost:3000/t/', 'Ab3dE6'), 'http://localhost:3000/t/Ab3dE6')
  const plain = 'https://t.example/postback?clickid={clickid}&action_id={action_id}&goal={goal}&sum={sum}&status={status}'
  const cases: [string, string | null, string][] = [
    ['https://t.example', null, plain],
    ['https://t.example/', null, plain],
    ['https://t.example', '', plain],
    ['https://t.example', 's3cr3t', `${plain}&secure=s3cr3t`],
    ['https://t.example', 'a b&c', `${plain}&secure=a%20b%26c`],
  ]
  for (const [base, code, expected] of cases) t.equal(advertiserPostbackUrl(base, code), expected, `${base} ${code}`)
})

t.test('canonicalParamsKey is the same for the same pairs in any order', async (t) => {
  const cases: [Record<string, string>, Record<string, string>, boolean][] = [
    [{}, {}, true],
    [{ sub1: 'a', sub2: 'b' }, { sub2: 'b', sub1: 'a' }, true],
    [{ x: '1', ext1: 'e', a: '2' }, { a: '2', x: '1', ext1: 'e' }, true],
    [{ sub1: 'a' }, { sub1: 'b' }, false],
    [{ sub1: 'a' }, { sub2: 'a' }, false],
    [{ sub1: '' }, {}, false],
    [{ a: 'b,c' }, { 'a,b': 'c' }, false],
    [{ a: '"' }, { 'a"': '' }, false],
  ]
  for (const [a, b, same] of cases) {
    const verdict = canonicalParamsKey(a) === canonicalParamsKey(b)
    t.equal(verdict, same, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
  }
})

t.test('short codes', async (t) => {
  const seen = new Set<string>()
  const counts = new Map<string, number>()
  const draws = 2_000
  let wellFormed = 0
  for (let i = 0; i < draws; i++) {
    const code = generateShortCode()
    if (isShortCode(code) && code.length === 10) wellFormed++
    seen.add(code)
    for (const c of code) counts.set(c, (counts.get(c) ?? 0) + 1)
  }
  t.equal(wellFormed, draws, 'every code is 10 base62 characters')
  t.equal(seen.size, draws, 'no collisions')
  t.equal(counts.size, 62, 'every base62 symbol shows up')
  // byte % 62 without rejection would favour 0-7 (5/256 each instead of 1/62): ~3,125 of the
  // 20,000 symbols instead of ~2,581 (σ ≈ 48).
  const favoured = [...'01234567'].reduce((n, c) => n + (counts.get(c) ?? 0), 0)
  t.ok(favoured < 2_850, `no modulo bias (${favoured} of ${draws * 10} are 0-7)`)
  t.equal(generateShortCode().length, 10)

  const cases: [string, boolean][] = [
    ['abc123', true],
    ['ABCdef0123', true],
    ['a'.repeat(64), true],
    ['abc12', false],
    ['a'.repeat(65), false],
    ['abc-123', false],
    ['abc_123', false],
    ['abcdéf', false],
    ['', false],
  ]
  for (const [s, ok] of cases) t.equal(isShortCode(s), ok, s)
})

t.test('link param names', async (t) => {
  const cases: [string, boolean][] = [
    ['sub1', true],
    ['ref_id', true],
    ['My_Param9', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['a-b', false],
    ['a b', false],
    ['ä', false],
  ]
  for (const [name, ok] of cases) t.equal(LINK_PARAM_NAME.test(name), ok, name)
  t.same([...RESERVED_LINK_PARAMS].sort(), ['offer_id', 'pid'])
})
