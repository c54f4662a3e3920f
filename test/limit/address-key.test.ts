/**
 * The key a client address is counted under, and its one spelling: every way of writing one
 * address gives one key, and every IPv6 name of one IPv4 host gives that IPv4 address.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey, canonicalAddress } from '../../src/limit/address-key.js';

test('the key: an IPv6 address by its /64, whatever its spelling; IPv4 as it is', () => {
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:DB8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('2001:db8:0:0:1::'), '2001:db8:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
});

test('the key of an IPv6 name of one IPv4 host (mapped, NAT64, SIIT, IPv4-compatible) is that IPv4 address', () => {
  // Behind a translator every IPv4 client would otherwise be one /64: one of them could hold the limits of all.
  const cases: [string, string][] = [
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::ffff:c000:207', '192.0.2.7'],
    ['64:ff9b::192.0.2.7', '192.0.2.7'],
    ['64:ff9b::c000:207', '192.0.2.7'],
    ['64:FF9B:0:0:0:0:C000:208', '192.0.2.8'],
    ['::ffff:0:192.0.2.7', '192.0.2.7'],
    ['::ffff:0:c000:209', '192.0.2.9'],
    ['::192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7%eth0', '192.0.2.7'],
    ['64:ff9b::c000:207%x', '192.0.2.7'],
  ];
  for (const [address, key] of cases) assert.equal(addressKey(address), key, address);
  assert.notEqual(addressKey('64:ff9b::c000:207'), addressKey('64:ff9b::c000:208'));
  assert.equal(addressKey('64:ff9b:1::c000:207'), '64:ff9b:1:0::/64', 'a network-specific prefix: by its /64');
  assert.equal(addressKey('::'), '0:0:0:0::/64');
});

test('a sweep of spellings: every way of writing one IPv6 address gives one key', () => {
  let seed = 7;
  const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  const prefixes = [[], [0, 0, 0, 0, 0, 0xffff], [0x64, 0xff9b, 0, 0, 0, 0], [0, 0, 0, 0, 0xffff, 0], [0, 0, 0, 0, 0, 0], [0x2001, 0xdb8]];
  for (let n = 0; n < 600; n++) {
    const prefix = prefixes[n % prefixes.length] ?? [];
    // Runs of zeros are common in real addresses: a quarter of the free groups are 0.
    const groups = Array.from({ length: 8 }, (_, i) => prefix[i] ?? (next() % 4 === 0 ? 0 : next() % 0x10000));
    const full = groups.map((g) => g.toString(16)).join(':');
    const spellings = [
      full,
      full.toUpperCase(),
      groups.map((g) => g.toString(16).padStart(4, '0')).join(':'),
      new URL(`http://[${full}]/`).hostname.slice(1, -1),
      `${groups
        .slice(0, 6)
        .map((g) => g.toString(16))
        .join(':')}:${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`,
      `${full}%eth0`,
    ];
    const keys = new Set(spellings.map((spelling) => addressKey(spelling)));
    assert.equal(keys.size, 1, `${spellings.join(' | ')} → ${[...keys].join(' | ')}`);
    // One spelling too: RFC 5952 as the URL parser writes it, an IPv4-mapped address as IPv4.
    const written = new URL(`http://[${full}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(written);
    const expected =
      mapped === null
        ? written
        : [Number.parseInt(mapped[1] ?? '', 16), Number.parseInt(mapped[2] ?? '', 16)].map((g) => `${g >> 8}.${g & 0xff}`).join('.');
    for (const spelling of spellings) assert.equal(canonicalAddress(spelling), expected, spelling);
  }
});
