import t from 'tap'
import { newSigningKey, requestTarget, secretForDisplay, signatureHeaders } from '../../src/domain/signature.js'

// The Standard Webhooks specification's own test vector (its "sign function works" case).
const VECTOR = {
  key: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  at: new Date(1614265330 * 1000),
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}

t.test('signatureHeaders: the specification\'s test vector', async (t) => {
  t.same(signatureHeaders(VECTOR.id, VECTOR.at, VECTOR.payload, [VECTOR.key]), {
    'webhook-id': VECTOR.id,
    'webhook-timestamp': '1614265330',
    'webhook-signature': VECTOR.signature,
  })
})

t.test('signatureHeaders: cases', async (t) => {
  const other = Buffer.alloc(32, 1).toString('base64')
  const cases: [string, Date, string[], (signature: string) => boolean][] = [
    ['two keys: space-separated, newest first', VECTOR.at, [other, VECTOR.key], (s) => s.split(' ').length === 2 && s.endsWith(` ${VECTOR.signature}`)],
    ['milliseconds are cut to whole seconds', new Date(1614265330 * 1000 + 999), [VECTOR.key], (s) => s === VECTOR.signature],
    ['another key signs differently', VECTOR.at, [other], (s) => s !== VECTOR.signature && /^v1,[A-Za-z0-9+/]{43}=$/.test(s)],
  ]
  for (const [name, at, keys, check] of cases) t.ok(check(signatureHeaders(VECTOR.id, at, VECTOR.payload, keys)['webhook-signature']), name)
})

t.test('keys and targets', async (t) => {
  const key = newSigningKey()
  t.equal(Buffer.from(key, 'base64').length, 32)
  t.not(newSigningKey(), key)
  t.equal(secretForDisplay(key), `whsec_${key}`)
  t.equal(requestTarget(new URL('https://aff.example/p/b?x=1&y= {z}')), '/p/b?x=1&y=%20{z}', 'as the WHATWG parse sends it')
  t.equal(requestTarget(new URL('https://aff.example')), '/')
})
