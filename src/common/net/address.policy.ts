import { BlockList, isIP } from 'node:net';

/** A network in CIDR notation, parsed: `10.20.0.0/16` is `{ address: '10.20.0.0', prefix: 16, family: 'ipv4' }`. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses one CIDR (`10.20.0.0/16`, `fd00::/8`); throws an Error that says what is wrong with it. */
export function parseCidr(text: string): Cidr {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!match) return invalid(text, 'is not a CIDR such as 10.20.0.0/16 or fd00::/8');
  const [, address, bits] = match as unknown as [string, string, string];
  // A zone id (fe80::1%eth0) names an interface, not a network.
  const family = address.includes('%') ? 0 : isIP(address);
  if (family === 0) return invalid(text, `${address} is not an IPv4 or IPv6 address`);
  const prefix = Number(bits);
  const max = family === 4 ? 32 : 128;
  if (prefix > max) return invalid(text, `the prefix must be 0..${max}`);
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** A comma-separated list of CIDRs; empty items are ignored. */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map(parseCidr);
}

function invalid(text: string, problem: string): never {
  throw new Error(`"${text.trim()}": ${problem}`);
}

/**
 * IPv4 ranges that are not the public internet (IANA special-purpose registry): a fetch aimed at
 * them reaches this host, its network or its cloud's metadata service instead.
 */
const BLOCKED_IPV4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 connects to the local host on Linux
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

/**
 * IPv6 is refused outside global unicast (2000::/3), which leaves out ::, ::1, fc00::/7, fe80::/10,
 * ff00::/8 and every unassigned range at once; inside it, these special ranges are refused too.
 */
const GLOBAL_IPV6: readonly [string, number] = ['2000::', 3];
const BLOCKED_IPV6: ReadonlyArray<readonly [string, number]> = [
  ['2001::', 23], // IETF protocol assignments: Teredo, benchmarking (2001:2::/48), ORCHID
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: an IPv4 address in disguise
  ['3fff::', 20], // documentation
];

/** IPv6 prefixes whose last 32 bits are an IPv4 address that is what the connection reaches. */
const IPV4_EMBEDDING: ReadonlyArray<readonly [string, number]> = [
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64 well-known prefix
];

const blocked = subnets('ipv4', BLOCKED_IPV4);
const globalIpv6 = subnets('ipv6', [GLOBAL_IPV6]);
const blockedIpv6 = subnets('ipv6', BLOCKED_IPV6);
const embedding = subnets('ipv6', IPV4_EMBEDDING);

function subnets(
  family: 'ipv4' | 'ipv6',
  ranges: ReadonlyArray<readonly [string, number]>,
  list = new BlockList(),
): BlockList {
  for (const [address, prefix] of ranges) list.addSubnet(address, prefix, family);
  return list;
}

/**
 * Which IP addresses Easel may connect to on a client's behalf: public addresses only, unless an
 * operator exempts networks of their own (`REMOTE_IMAGE_ALLOWED_NETWORKS`). IPv4-mapped and NAT64
 * IPv6 addresses are judged by the IPv4 address inside them.
 */
export class AddressPolicy {
  private readonly allowed = new BlockList();

  constructor(allowedNetworks: readonly Cidr[] = []) {
    for (const network of allowedNetworks) this.allowed.addSubnet(network.address, network.prefix, network.family);
  }

  /** False for anything that is not a public address (or an allowed one), including non-addresses. */
  permits(address: string): boolean {
    const ip = address.replace(/^\[(.*)\]$/, '$1');
    const family = ip.includes('%') ? 0 : isIP(ip);
    if (family === 4) return this.allowed.check(ip, 'ipv4') || !blocked.check(ip, 'ipv4');
    if (family !== 6) return false;
    if (this.allowed.check(ip, 'ipv6')) return true;
    if (embedding.check(ip, 'ipv6')) {
      const inner = lastIpv4Of(ip);
      return inner !== undefined && this.permits(inner);
    }
    return globalIpv6.check(ip, 'ipv6') && !blockedIpv6.check(ip, 'ipv6');
  }
}

/** The IPv4 address in the last 32 bits of a valid IPv6 address (`::ffff:7f00:1` → `127.0.0.1`). */
function lastIpv4Of(ipv6: string): string | undefined {
  // The URL serializer writes the canonical form (hex groups, only runs of 2+ zero groups
  // compressed), so an empty group among the last two always stands for zeros.
  const canonical = URL.parse(`http://[${ipv6}]/`)?.hostname;
  if (!canonical) return undefined;
  const groups = canonical.slice(1, -1).split(':');
  const high = parseInt(groups.at(-2) || '0', 16);
  const low = parseInt(groups.at(-1) || '0', 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}
