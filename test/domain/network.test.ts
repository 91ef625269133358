import t from 'tap'
import { isGloballyReachable, privateNetworkReason } from '../../src/domain/network.js'

t.test('reachable addresses', async (t) => {
  const cases = [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.0.3.1',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82a::200e',
    '2001:4860:4860::8888',
    '2001:200::1', // just past 2001::/23
    '3ffe::1',
    '::ffff:8.8.8.8',
    '::ffff:0808:0808',
    '64:ff9b::808:808',
    '2002:0808:0808::1',
    '2606:4700::1%eth0', // a zone id does not change the address
  ]
  for (const address of cases) {
    t.equal(isGloballyReachable(address), true, address)
    t.equal(privateNetworkReason(address), null, `${address} has no reason`)
  }
})

t.test('refused addresses name their range', async (t) => {
  const cases: [string, string][] = [
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.255.255.255', '0.0.0.0/8'],
    ['10.0.0.1', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['100.64.0.0', '100.64.0.0/10'],
    ['100.127.255.255', '100.64.0.0/10'],
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.255.254', '127.0.0.0/8'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['172.16.0.1', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.0.0.9', '192.0.0.0/24'],
    ['192.0.2.10', '192.0.2.0/24'],
    ['192.88.99.1', '192.88.99.0/24'],
    ['192.168.1.1', '192.168.0.0/16'],
    ['198.18.0.1', '198.18.0.0/15'],
    ['198.19.255.255', '198.18.0.0/15'],
    ['198.51.100.7', '198.51.100.0/24'],
    ['203.0.113.7', '203.0.113.0/24'],
    ['224.0.0.1', '224.0.0.0/4'],
    ['239.255.255.250', '224.0.0.0/4'],
    ['240.0.0.1', '240.0.0.0/4'],
    ['255.255.255.255', '240.0.0.0/4'],
    ['::', '::/128'],
    ['::1', '::1/128'],
    ['0:0:0:0:0:0:0:1', '::1/128'],
    ['::10.0.0.1', '::/96'],
    ['::ffff:10.0.0.1', '10.0.0.0/8'],
    ['::ffff:127.0.0.1', '127.0.0.0/8'],
    ['::FFFF:7f00:1', '127.0.0.0/8'],
    ['::ffff:169.254.169.254', '169.254.0.0/16'],
    ['::ffff:0.0.0.0', '0.0.0.0/8'],
    ['64:ff9b::a00:1', '10.0.0.0/8'],
    ['64:ff9b::192.168.0.1', '192.168.0.0/16'],
    ['64:ff9b:1::1', '64:ff9b:1::/48'],
    ['100::1', '100::/64'],
    ['2001::1', '2001::/23'],
    ['2001:1ff:ffff::1', '2001::/23'],
    ['2001:db8::1', '2001:db8::/32'],
    ['2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32'],
    ['2002:0a00:0001::1', '10.0.0.0/8'],
    ['2002:7f00:1::', '127.0.0.0/8'],
    ['3fff::1', '3fff::/20'],
    ['fc00::1', 'fc00::/7'],
    ['fd12:3456:789a::1', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['fe80::1%eth0', 'fe80::/10'],
    ['febf:ffff::1', 'fe80::/10'],
    ['fec0::1', 'fec0::/10'],
    ['ff02::1', 'ff00::/8'],
    ['ff05::1:3', 'ff00::/8'],
    ['1::1', '2000::/3'],
    ['4000::1', '2000::/3'],
  ]
  for (const [address, cidr] of cases) {
    t.equal(isGloballyReachable(address), false, address)
    const reason = privateNetworkReason(address) ?? ''
    t.ok(reason.startsWith(`destination ${address} `) && reason.includes(`(${cidr})`), `${address}: ${reason}`)
  }
  t.equal(privateNetworkReason('10.0.0.1'), 'destination 10.0.0.1 is in a private range (10.0.0.0/8)')
  t.equal(
    privateNetworkReason('::ffff:10.0.0.1'),
    'destination ::ffff:10.0.0.1 (IPv4-mapped, ::ffff:0:0/96) embeds 10.0.0.1, which is in a private range (10.0.0.0/8)'
  )
})

t.test('anything that is not an IP address is refused', async (t) => {
  const cases = ['', 'localhost', 'example.com', '[::1]', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', '::ffff:1.2.3', 'gggg::1', '1.2.3.4/32']
  for (const address of cases) {
    t.equal(isGloballyReachable(address), false, JSON.stringify(address))
    t.match(privateNetworkReason(address), /not an IP address/, JSON.stringify(address))
  }
})
