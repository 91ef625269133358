import t from 'tap'
import { hasPublicOrigin, publicOrigin } from '../../src/domain/self-feed.js'

// The one rule for "this URL is the service itself": the save-time 422 and the send-time refusal both use it.
t.test('hasPublicOrigin: scheme, host ignoring case and a trailing dot, port with defaults made explicit', async (t) => {
  const cases: [url: string, publicUrl: string, same: boolean][] = [
    ['https://track.example.com/postback?x=1', 'https://track.example.com', true],
    ['https://TRACK.Example.com./postback', 'https://track.example.com/', true],
    ['https://track.example.com:443/postback', 'https://track.example.com', true],
    ['https://user:secret@track.example.com/postback', 'https://track.example.com', true],
    ['http://track.example.com/postback', 'https://track.example.com', false],
    ['https://track.example.com:8443/postback', 'https://track.example.com', false],
    ['https://other.example.com/postback', 'https://track.example.com', false],
    ['http://127.0.0.1:3000/postback', 'http://127.0.0.1:3000', true],
    ['http://127.0.0.1:3001/postback', 'http://127.0.0.1:3000', false],
    ['http://[::1]:3000/postback', 'http://[0:0:0:0:0:0:0:1]:3000', true],
    ['http://[::1]/postback', 'http://[::1]:80', true],
    ['http://[::2]:3000/postback', 'http://[::1]:3000', false],
    ['https://track.example.com/postback', 'not a url', false],
  ]
  for (const [url, publicUrl, same] of cases) t.equal(hasPublicOrigin(new URL(url), publicUrl), same, `${url} vs ${publicUrl}`)
})

t.test('publicOrigin: null for a PUBLIC_URL that does not parse, so nothing matches it', async (t) => {
  t.equal(publicOrigin('::'), null)
  t.equal(publicOrigin('https://Track.example.com.'), 'https://track.example.com:443')
})
