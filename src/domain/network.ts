// SSRF guard for postback destinations: is an address one the public internet can route to?
// Judged on the address actually connected to, so DNS rebinding cannot slip past it.
import { isIP } from 'node:net'

interface Range {
  cidr: string
  label: string
  base: bigint
  prefix: number
}

function range (cidr: string, label: string): Range {
  const [address, prefix] = cidr.split('/') as [string, string]
  const base = isIP(address) === 4 ? parseIPv4(address) : parseIPv6(address)
  return { cidr, label, base, prefix: Number(prefix) }
}

// IANA special-purpose registries: the blocks that are not globally reachable. Blocks with a few
// reachable exceptions (192.0.0.0/24, 2001::/23) are refused whole: a postback never needs them.
const IPV4_RANGES: readonly Range[] = [
  range('0.0.0.0/8', '"this network"'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'shared address space (carrier-grade NAT)'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'IETF protocol assignments'),
  range('192.0.2.0/24', 'documentation (TEST-NET-1)'),
  range('192.88.99.0/24', 'deprecated 6to4 relay anycast'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation (TEST-NET-2)'),
  range('203.0.113.0/24', 'documentation (TEST-NET-3)'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'),
]

// Blocks that carry an IPv4 address, which decides for them.
const IPV4_MAPPED = range('::ffff:0:0/96', 'IPv4-mapped')
const NAT64 = range('64:ff9b::/96', 'NAT64 (IPv4-embedded)')
const SIX_TO_FOUR = range('2002::/16', '6to4')

// Most specific first, so the reason names the narrowest block.
const IPV6_RANGES: readonly Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::/96', 'deprecated IPv4-compatible'),
  range('64:ff9b:1::/48', 'local-use NAT64'),
  range('100::/64', 'discard-only'),
  range('2001:db8::/32', 'documentation'),
  range('2001::/23', 'IETF protocol assignments'),
  range('3fff::/20', 'documentation'),
  range('5f00::/16', 'segment routing (SRv6)'),
  range('fc00::/7', 'unique local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'deprecated site-local'),
  range('ff00::/8', 'multicast'),
]
// Everything outside global unicast is unallocated or reserved by the IETF.
const GLOBAL_UNICAST = range('2000::/3', 'global unicast')

export function isGloballyReachable (address: string): boolean {
  return privateNetworkReason(address) === null
}

/** Why a destination is refused, for the attempt log; null when it is globally reachable. */
export function privateNetworkReason (address: string): string | null {
  const version = isIP(address)
  if (version === 0) return `destination ${address} is not an IP address`
  if (version === 4) {
    const hit = findIPv4(parseIPv4(address))
    return hit === undefined ? null : `destination ${address} is in a ${hit.label} range (${hit.cidr})`
  }
  const ip = parseIPv6(stripZone(address))
  const wrapper = [IPV4_MAPPED, NAT64, SIX_TO_FOUR].find((r) => contains(r, ip, 128))
  if (wrapper !== undefined) {
    const ipv4 = wrapper === SIX_TO_FOUR ? (ip >> 80n) & 0xffffffffn : ip & 0xffffffffn
    const hit = findIPv4(ipv4)
    if (hit === undefined) return null
    return (
      `destination ${address} (${wrapper.label}, ${wrapper.cidr}) embeds ${formatIPv4(ipv4)}, ` +
      `which is in a ${hit.label} range (${hit.cidr})`
    )
  }
  const hit = IPV6_RANGES.find((r) => contains(r, ip, 128))
  if (hit !== undefined) return `destination ${address} is in a ${hit.label} range (${hit.cidr})`
  if (!contains(GLOBAL_UNICAST, ip, 128)) return `destination ${address} is outside ${GLOBAL_UNICAST.label} (${GLOBAL_UNICAST.cidr})`
  return null
}

function findIPv4 (ip: bigint): Range | undefined {
  return IPV4_RANGES.find((r) => contains(r, ip, 32))
}

function contains (r: Range, ip: bigint, bits: number): boolean {
  const shift = BigInt(bits - r.prefix)
  return ip >> shift === r.base >> shift
}

function parseIPv4 (address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n)
}

function formatIPv4 (ip: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((ip >> s) & 0xffn)).join('.')
}

function stripZone (address: string): string {
  const percent = address.indexOf('%')
  return percent === -1 ? address : address.slice(0, percent)
}

// Only called on strings node:net already accepted as IPv6.
function parseIPv6 (address: string): bigint {
  const [head, tail] = address.includes('::') ? (address.split('::') as [string, string]) : [address, null]
  const groups = (part: string): number[] => {
    if (part === '') return []
    const out: number[] = []
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = Number(parseIPv4(piece))
        out.push(v4 >>> 16, v4 & 0xffff)
      } else {
        out.push(parseInt(piece, 16))
      }
    }
    return out
  }
  const left = groups(head)
  const right = tail === null ? [] : groups(tail)
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  return all.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n)
}
