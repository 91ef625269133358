import t from 'tap'
import { redactUrl } from '../../src/http/logging.js'

t.test('secrets in a logged URL are redacted, whatever the case or percent-encoding of their names', async (t) => {
  const cases: [url: string, logged: string][] = [
    ['/postback?clickid=abc&secure=s3cret', '/postback?clickid=abc&secure=[REDACTED]'],
    ['/postback?SECURE=s3cret&clickid=abc', '/postback?SECURE=[REDACTED]&clickid=abc'],
    ['/postback?secur%65=s3cret', '/postback?secur%65=[REDACTED]'],
    ['/postback?%73ecure=s3cret&x=1', '/postback?%73ecure=[REDACTED]&x=1'],
    ['/v1/offers?api_key=aff_123', '/v1/offers?api_key=[REDACTED]'],
    ['/v1/offers?api-key=aff_123&limit=5', '/v1/offers?api-key=[REDACTED]&limit=5'],
    ['/postback?secure', '/postback?secure=[REDACTED]'],
    ['/click?pid=1&offer_id=2&sub1=a%20b', '/click?pid=1&offer_id=2&sub1=a%20b'],
    ['/click?pid=1&sub1=%E0%A4%A', '/click?pid=1&sub1=%E0%A4%A'],
    ['/postback?insecure=1&secured=2', '/postback?insecure=1&secured=2'],
    ['/health', '/health'],
  ]
  for (const [url, logged] of cases) t.equal(redactUrl(url), logged, url)
})
