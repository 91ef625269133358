import t from 'tap'
import { hostnameProblem, normalizeHostname } from '../../src/domain/hostname.js'

t.test('accepted hostnames', async (t) => {
  const cases = [
    'track.example.com',
    'TRACK.Example.COM',
    'localhost',
    'tracker',
    'a.b',
    'xn--bcher-kva.example',
    'my-tracker-01.example.co.uk',
    `${'a'.repeat(63)}.example.com`,
    [1, 2, 3].map(() => 'a'.repeat(63)).join('.') + '.' + 'b'.repeat(61), // 253 characters
    '1st.example.com',
  ]
  for (const hostname of cases) t.equal(hostnameProblem(hostname), null, hostname)
})

t.test('refused hostnames, each with a reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['https://track.example.com', /scheme/],
    ['HTTP://track.example.com', /scheme/],
    ['track.example.com/path', /path/],
    ['track.example.com?x=1', /path/],
    ['track.example.com#x', /path/],
    ['track.example.com:8080', /port/],
    ['user@track.example.com', /user/],
    ['[::1]', /port|IPv6|letters/],
    ['track.example.com.', /end with a dot/],
    ['.example.com', /empty label/],
    ['track..example.com', /empty label/],
    ['-track.example.com', /hyphen/],
    ['track-.example.com', /hyphen/],
    ['tra ck.example.com', /letters/],
    ['trä.example.com', /letters/],
    ['under_score.example.com', /letters/],
    [`${'a'.repeat(64)}.example.com`, /63/],
    [[1, 2, 3].map(() => 'a'.repeat(63)).join('.') + '.' + 'b'.repeat(62), /253/],
    ['127.0.0.1', /IP address/],
    ['10.1.2.3', /IP address/],
  ]
  for (const [hostname, reason] of cases) t.match(hostnameProblem(hostname), reason, JSON.stringify(hostname))
})

t.test('normalisation lowercases', async (t) => {
  t.equal(normalizeHostname('Track.EXAMPLE.com'), 'track.example.com')
})
