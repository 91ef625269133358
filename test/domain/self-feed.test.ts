import t from 'tap'
import { canonicalAddress, reachesListener } from '../../src/domain/self-feed.js'

t.test('canonical addresses', async (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['[::ffff:7f00:1]', '127.0.0.1'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:DB8::1', '2001:db8::1'],
  ]
  for (const [raw, expected] of cases) t.equal(canonicalAddress(raw), expected, raw)
})

t.test('which destinations land on which listener', async (t) => {
  const local = new Set(['192.0.2.10', '2001:db8::10'])
  const any4 = { address: '0.0.0.0', port: 3000 }
  const any6 = { address: '::', port: 3000 }
  const loopback = { address: '127.0.0.1', port: 3000 }
  const lan = { address: '192.0.2.10', port: 3000 }
  const cases: Array<[{ address: string; port: number }, string, number, boolean]> = [
    [any4, '127.0.0.1', 3000, true],
    [any4, '127.0.0.2', 3000, true],
    [any4, '::1', 3000, true],
    [any4, '::ffff:127.0.0.1', 3000, true],
    [any4, '0.0.0.0', 3000, true],
    [any4, '192.0.2.10', 3000, true],
    [any4, '127.0.0.1', 3001, false],
    [any4, '198.51.100.7', 3000, false],
    [any6, '2001:db8::10', 3000, true],
    [any6, '::', 3000, true],
    [loopback, '127.0.0.1', 3000, true],
    [loopback, '0.0.0.0', 3000, true],
    [loopback, '127.0.0.2', 3000, false],
    [loopback, '192.0.2.10', 3000, false],
    [lan, '192.0.2.10', 3000, true],
    [lan, '[::ffff:192.0.2.10]', 3000, true],
    [lan, '127.0.0.1', 3000, false],
  ]
  for (const [listener, address, port, expected] of cases) {
    t.equal(reachesListener({ address, port }, listener, local), expected, `${address}:${port} → listener ${listener.address}:${listener.port}`)
  }
})
