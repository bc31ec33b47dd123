import { AddressPolicy, parseCidr, parseCidrList } from './address.policy.js';

describe(AddressPolicy.name, () => {
  describe.each([
    {
      networks: 'without allowed networks',
      sut: new AddressPolicy(),
      refused: [
        ['0.0.0.0', 'unspecified (reaches the local host on Linux)'],
        ['0.1.2.3', '"this network"'],
        ['10.0.0.1', 'private'],
        ['10.255.255.255', 'private, last address'],
        ['100.64.0.1', 'carrier-grade NAT'],
        ['100.127.255.254', 'carrier-grade NAT, last range'],
        ['127.0.0.1', 'loopback'],
        ['127.255.255.254', 'loopback, whole /8'],
        ['169.254.169.254', 'link-local: cloud metadata'],
        ['172.16.0.1', 'private'],
        ['172.31.255.255', 'private, last address'],
        ['192.0.0.8', 'IETF protocol assignments'],
        ['192.0.2.10', 'documentation'],
        ['192.88.99.1', '6to4 relay anycast'],
        ['192.168.1.1', 'private'],
        ['198.18.0.1', 'benchmarking'],
        ['198.19.255.255', 'benchmarking, last address'],
        ['198.51.100.7', 'documentation'],
        ['203.0.113.5', 'documentation'],
        ['224.0.0.251', 'multicast'],
        ['239.255.255.250', 'multicast'],
        ['240.0.0.1', 'reserved'],
        ['255.255.255.255', 'broadcast'],
        ['::', 'IPv6 unspecified'],
        ['::1', 'IPv6 loopback'],
        ['[::1]', 'IPv6 loopback as written in a URL'],
        ['fc00::1', 'unique local'],
        ['fd12:3456:789a::1', 'unique local'],
        ['fe80::1', 'link-local'],
        ['febf::1', 'link-local, end of fe80::/10'],
        ['fec0::1', 'site-local (deprecated)'],
        ['ff02::1', 'multicast'],
        ['ff0e::101', 'multicast, global scope'],
        ['100::1', 'discard-only'],
        ['2001:db8::1', 'documentation'],
        ['3fff::1', 'documentation'],
        ['2001::1', 'Teredo'],
        ['2001:2::1', 'benchmarking'],
        ['2002:7f00:1::', '6to4 (embeds 127.0.0.1)'],
        ['::127.0.0.1', 'IPv4-compatible (deprecated)'],
        ['5f00::1', 'outside global unicast'],
        ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
        ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
        ['::ffff:10.1.2.3', 'IPv4-mapped private'],
        ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata address'],
        ['::ffff:0:0', 'IPv4-mapped unspecified'],
        ['64:ff9b::127.0.0.1', 'NAT64 of loopback'],
        ['64:ff9b::a9fe:a9fe', 'NAT64 of the metadata address'],
        ['64:ff9b::c0a8:101', 'NAT64 of a private address'],
        ['64:ff9b:1::1', 'local-use NAT64'],
        ['fe80::1%eth0', 'a scoped address'],
        ['localhost', 'not an address'],
        ['', 'empty'],
        ['1.2.3', 'not an address'],
      ],
      permitted: [
        ['8.8.8.8', 'public IPv4'],
        ['1.1.1.1', 'public IPv4'],
        ['9.255.255.255', 'just below 10/8'],
        ['11.0.0.0', 'just above 10/8'],
        ['100.63.255.255', 'just below carrier-grade NAT'],
        ['100.128.0.0', 'just above carrier-grade NAT'],
        ['172.15.255.255', 'just below 172.16/12'],
        ['172.32.0.0', 'just above 172.16/12'],
        ['192.167.255.255', 'just below 192.168/16'],
        ['198.17.255.255', 'just below benchmarking'],
        ['223.255.255.255', 'just below multicast'],
        ['2606:4700:4700::1111', 'public IPv6'],
        ['2a00:1450:4001:80b::200e', 'public IPv6'],
        ['2001:4860:4860::8888', 'public IPv6 next to 2001::/23'],
        ['::ffff:8.8.8.8', 'IPv4-mapped public'],
        ['::ffff:808:808', 'IPv4-mapped public, hex'],
        ['64:ff9b::808:808', 'NAT64 of a public address'],
        ['64:ff9b::8.8.8.8', 'NAT64 of a public address, dotted'],
        ['[2606:4700:4700::1111]', 'public IPv6 as written in a URL'],
      ],
    },
    {
      networks: 'with allowed networks',
      sut: new AddressPolicy(parseCidrList('10.20.0.0/16, 127.0.0.1/32,fd00:1234::/32')),
      refused: [
        ['10.21.0.1', 'private, outside 10.20.0.0/16'],
        ['127.0.0.2', 'loopback other than 127.0.0.1'],
        ['::1', 'IPv6 loopback'],
        ['169.254.169.254', 'cloud metadata'],
        ['fd00:1235::1', 'unique local outside the allowed range'],
      ],
      permitted: [
        ['10.20.0.1', 'inside 10.20.0.0/16'],
        ['10.20.255.255', 'last address of 10.20.0.0/16'],
        ['127.0.0.1', 'the one loopback address allowed'],
        ['::ffff:127.0.0.1', 'that address IPv4-mapped'],
        ['::ffff:a14:1', 'an allowed address IPv4-mapped, hex'],
        ['64:ff9b::a14:1', 'an allowed address through NAT64'],
        ['fd00:1234::5', 'inside the allowed unique-local range'],
        ['8.8.8.8', 'public addresses stay permitted'],
      ],
    },
  ])('$networks', ({ sut, refused, permitted }) => {
    it.each(refused)('refuses %s (%s)', (address) => {
      expect(sut.permits(address)).toBe(false);
    });

    it.each(permitted)('permits %s (%s)', (address) => {
      expect(sut.permits(address)).toBe(true);
    });
  });
});

describe(parseCidr.name, () => {
  it.each([
    ['10.20.0.0/16', { address: '10.20.0.0', prefix: 16, family: 'ipv4' }],
    ['127.0.0.1/32', { address: '127.0.0.1', prefix: 32, family: 'ipv4' }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    [' fd00::/8 ', { address: 'fd00::', prefix: 8, family: 'ipv6' }],
    ['::1/128', { address: '::1', prefix: 128, family: 'ipv6' }],
  ])('parses %s', (text, expected) => {
    expect(parseCidr(text)).toEqual(expected);
  });

  it.each([
    ['10.20.0.0', /is not a CIDR/],
    ['10.20.0.0/', /is not a CIDR/],
    ['/16', /is not a CIDR/],
    ['10.20.0.0/16/8', /is not a CIDR/],
    ['10.20.0.0/-1', /is not a CIDR/],
    ['10.20.0.0/1e1', /is not a CIDR/],
    ['10.20.0.0/33', /the prefix must be 0\.\.32/],
    ['fd00::/129', /the prefix must be 0\.\.128/],
    ['10.20.0/16', /10\.20\.0 is not an IPv4 or IPv6 address/],
    ['256.0.0.0/8', /is not an IPv4 or IPv6 address/],
    ['example.com/24', /is not an IPv4 or IPv6 address/],
    ['[fd00::]/8', /is not an IPv4 or IPv6 address/],
    ['fe80::1%eth0/64', /is not an IPv4 or IPv6 address/],
    ['10.0.0.0 /8', /is not a CIDR/],
  ])('refuses %s, saying why', (text, problem) => {
    expect(() => parseCidr(text)).toThrow(problem);
  });

  it('names the CIDR at fault in a list', () => {
    expect(() => parseCidrList('10.0.0.0/8,192.168.0.0/33')).toThrow('"192.168.0.0/33": the prefix must be 0..32');
  });

  it('ignores empty items of a list', () => {
    expect(parseCidrList('10.0.0.0/8,, 127.0.0.1/32,')).toHaveLength(2);
  });
});
