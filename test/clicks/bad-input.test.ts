import net from 'node:net'
import t from 'tap'
import { build } from '../helpers/build.js'
import { clickidIn, createAffiliate, createLink, createOffer, OFFER_URL, pathOf, readClick, requestPublicPath } from '../helpers/fixtures.js'

/** Sends raw bytes on a fresh connection and returns the status line's code. */
function rawRequest (port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let answer = ''
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')))
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer)
      if (match !== null) {
        resolve(Number(match[1]))
        socket.destroy()
      }
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error(`closed without a status line: ${JSON.stringify(answer)}`)))
    socket.write(bytes)
  })
}

t.test('bad input: garbage ids are invalid clicks, never errors', async (t) => {
  const { app } = await build(t, { env: { TRAFFICBACK_URL: 'https://tb.example/' } })
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const o = offer.id
  const a = affiliate.id
  for (const query of [
    `pid=abc&offer_id=${o}`, `pid=1.5&offer_id=${o}`, `pid=-1&offer_id=${o}`, `pid=0&offer_id=${o}`, `pid=0x1&offer_id=${o}`,
    `pid=99999999999&offer_id=${o}`, `pid=2147483648&offer_id=${o}`, `pid=%20${a}&offer_id=${o}`, `pid=${a}%00&offer_id=${o}`,
    `pid=${a}&offer_id=1e3`, `pid=${a}&offer_id=%FF`, `pid=${a}&offer_id=`, `pid=${a}&offer_id[]=${o}`, `pid=${a}&offer_id[x]=${o}`,
    '%%%', '&&&', '=', '==&=', 'offer_id', '%E0%A4%A', `pid=${a}&offer_id=${'9'.repeat(1000)}`,
  ]) {
    const res = await requestPublicPath(app, `/click?${query}`)
    t.equal(res.statusCode, 302, query)
    t.equal(res.headers.location, 'https://tb.example/', query)
  }
  // Leading zeros are still numeric ids (§3 sends only missing or non-numeric ids to trafficback).
  const padded = await requestPublicPath(app, `/click?pid=0${a}&offer_id=00${o}`)
  t.equal(padded.statusCode, 302)
  t.not(padded.headers.location, 'https://tb.example/', 'a zero-padded id is the same id')
})

t.test('bad input: odd values are stored safely; duplicates keep the first', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: 'https://adv.example/?c={clickid}&s1={sub1}' })
  const affiliate = await createAffiliate(app)
  const base = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  const cases: { query: string; params: Record<string, string>; s1: string }[] = [
    { query: '&sub1=%FF%FE', params: { sub1: '\uFFFD\uFFFD' }, s1: '%EF%BF%BD%EF%BF%BD' },
    { query: '&sub1=%00abc&%00=x', params: { sub1: 'abc', '': 'x' }, s1: 'abc' },
    { query: '&sub1=a&sub1=b&sub2=c', params: { sub1: 'a', sub2: 'c' }, s1: 'a' },
    { query: '&sub1=%F0%9F%98%80+%2B', params: { sub1: '😀 +' }, s1: '%F0%9F%98%80%20%2B' },
    { query: '&__proto__=p&constructor=c', params: JSON.parse('{"__proto__":"p","constructor":"c"}'), s1: '' },
    { query: `&pid=999&offer_id=999&sub1=${'x'.repeat(1024)}`, params: { sub1: 'x'.repeat(1024) }, s1: 'x'.repeat(1024) },
  ]
  for (const c of cases) {
    const res = await requestPublicPath(app, base + c.query)
    t.equal(res.statusCode, 302, c.query.slice(0, 60))
    const clickid = clickidIn(res.headers.location)
    t.equal(res.headers.location, `https://adv.example/?c=${clickid}&s1=${c.s1}`, c.query.slice(0, 60))
    await app.clickRecorder.flush()
    const stored = await readClick(app, clickid)
    t.same(stored?.params, c.params, c.query.slice(0, 60))
    t.equal(stored?.affiliate_id, affiliate.id)
  }
  t.equal(app.clickRecorder.dropped, 0, 'no click was refused by the database')
})

t.test('bad input: oversized query strings are 400 problems', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true })
  const base = `/click?pid=${affiliate.id}&offer_id=${offer.id}`
  const fiftyOne = Array.from({ length: 49 }, (_, i) => `p${i}=v`).join('&')
  const cases: { name: string; url: string; path?: string }[] = [
    { name: 'a value over 1024', url: `${base}&sub1=${'x'.repeat(1025)}`, path: '/sub1' },
    { name: 'a name over 1024', url: `${base}&${'n'.repeat(1025)}=1`, path: `/${'n'.repeat(64)}` },
    { name: '51 parameters', url: `${base}&${fiftyOne}` },
    { name: 'over 8 KiB', url: `${base}&${Array.from({ length: 9 }, (_, i) => `s${i}=${'y'.repeat(1000)}`).join('&')}` },
    { name: 'short URL, a value over 1024', url: `${pathOf(link.short_url as string)}?sub1=${'x'.repeat(1025)}`, path: '/sub1' },
  ]
  for (const c of cases) {
    const res = await requestPublicPath(app, c.url)
    t.equal(res.statusCode, 400, c.name)
    t.match(res.headers['content-type'], /^application\/problem\+json/, c.name)
    if (c.path !== undefined) t.equal(res.json().errors[0].path, c.path, c.name)
  }
  const fifty = Array.from({ length: 48 }, (_, i) => `p${i}=v`).join('&')
  t.equal((await requestPublicPath(app, `${base}&${fifty}`)).statusCode, 302, '50 parameters are fine')
})

t.test('bad input: odd Host headers and raw bytes never cause a 500', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true })
  const urls = [`/click?pid=${affiliate.id}&offer_id=${offer.id}`, pathOf(link.short_url as string), '/click?offer_id=x']
  for (const host of ['', 'evil.example:99999', '[::1', 'ä.example', 'x'.repeat(4000), 'a b', '127.0.0.1:0']) {
    for (const url of urls) {
      const res = await requestPublicPath(app, url, { headers: { host } })
      t.ok(res.statusCode < 500, `${host.slice(0, 20)} ${url}: ${res.statusCode}`)
    }
  }

  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const requests = [
    Buffer.concat([Buffer.from(`GET /click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=`), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]),
    Buffer.concat([Buffer.from(`GET /click?pid=${affiliate.id}&offer_id=${offer.id} HTTP/1.1\r\nHost: `), Buffer.from([0xff, 0xc0]), Buffer.from('\r\n\r\n')]),
    Buffer.concat([Buffer.from(`GET ${pathOf(link.short_url as string)} HTTP/1.1\r\nHost: x\r\nUser-Agent: `), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\r\nReferer: \x01\r\n\r\n')]),
    Buffer.from(`GET /click?pid=${affiliate.id}&offer_id=${offer.id} HTTP/1.0\r\n\r\n`),
    Buffer.from('GET /%C0%AF%FF HTTP/1.1\r\nHost: x\r\n\r\n'),
  ]
  for (const [i, bytes] of requests.entries()) {
    const status = await rawRequest(port, bytes)
    t.ok(status < 500, `raw request ${i}: ${status}`)
  }
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200, 'still serving')
  await app.clickRecorder.flush()
  t.equal(app.clickRecorder.dropped, 0)
})
