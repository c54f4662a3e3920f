/**
 * Per-client limits count an IPv6 client by its /64 (docs/configuration.md, "Slow clients"):
 * addresses of one /64 share the limits; IPv4 addresses, and IPv6 names of one IPv4 host, count
 * alone. The key is the rate limits' and the throttle's (limit/client-address.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClientLimits } from '../../src/listen/client-limits.js';
import { addressKey } from '../../src/limit/client-address.js';

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

test('requests in flight from many addresses of one IPv6 /64 share one limit; another /64 has its own', () => {
  const limits = createClientLimits(
    () => ({ maxConnectionsPerClient: 10, maxInFlightPerClient: 2 }),
    () => false,
  );
  assert.equal(limits.admit('2001:db8:1:2::1'), undefined);
  assert.equal(limits.admit('2001:db8:1:2::2'), undefined);
  assert.equal(limits.admit('2001:db8:1:2:ffff::3')?.code, 'client.too_many_requests');
  assert.equal(limits.admit('2001:db8:1:3::1'), undefined);
  limits.release('2001:db8:1:2::2');
  assert.equal(limits.admit('2001:db8:1:2::9'), undefined);
  // IPv4 addresses are not grouped.
  assert.equal(limits.admit('192.0.2.1'), undefined);
  assert.equal(limits.admit('192.0.2.1'), undefined);
  assert.equal(limits.admit('192.0.2.2'), undefined);
});
