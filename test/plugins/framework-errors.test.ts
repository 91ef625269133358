import net from 'node:net'
import t from 'tap'
import { build } from '../helpers/build.js'

/** One raw HTTP exchange: what Node's parser refuses never reaches app.inject. */
function exchange (port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request))
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => { answer += chunk })
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

t.test('requests the HTTP parser refuses are answered in problem+json with their own type', async (t) => {
  const { app } = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const cases = [
    { name: 'headers over 16 KiB', request: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, kind: 'headers-too-large' },
    { name: 'a request line that is not HTTP', request: 'NOT HTTP AT ALL\r\n\r\n', status: 400, kind: 'bad-request' },
  ]
  for (const c of cases) {
    const answer = await exchange(port, c.request)
    t.match(answer, new RegExp(`^HTTP/1\\.1 ${c.status} `), `${c.name}: status`)
    t.match(answer, /content-type: application\/problem\+json/i, `${c.name}: problem+json`)
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { type: string; status: number }
    t.equal(body.type, `https://s2s-tracker.dev/problems/${c.kind}`, `${c.name}: type`)
    t.equal(body.status, c.status, `${c.name}: status in the body`)
  }
})

t.test('a path that exists under other methods is a 405 with Allow; an unknown path a 404', async (t) => {
  const { app } = await build(t)
  const cases = [
    { method: 'PUT', url: '/v1/advertisers/1', status: 405, allow: 'DELETE, GET, HEAD, PATCH' },
    { method: 'DELETE', url: '/v1/clicks/0123456789abcdef01234567', status: 405, allow: 'GET, HEAD' },
    { method: 'POST', url: '/health', status: 405, allow: 'GET, HEAD' },
    { method: 'PUT', url: '/postback', status: 405, allow: 'GET, POST' },
    { method: 'OPTIONS', url: '/postback', status: 405, allow: 'GET, POST' },
    { method: 'POST', url: '/abcdef12', status: 405, allow: 'GET, HEAD' },
    { method: 'POST', url: '/favicon.ico', status: 404, allow: undefined },
    { method: 'GET', url: '/v1/nothing/here', status: 404, allow: undefined },
    { method: 'POST', url: '/v1/advertisers/1/nothing', status: 404, allow: undefined },
  ] as const
  for (const c of cases) {
    const res = await app.inject({ method: c.method, url: c.url })
    t.equal(res.statusCode, c.status, `${c.method} ${c.url}`)
    t.equal(res.headers.allow, c.allow, `${c.method} ${c.url}: Allow`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
  }
})
