/**
 * The client address the throttle and the rate limits key on: the peer unless it is a trusted
 * proxy; then the nearest untrusted X-Forwarded-For entry. A client never chooses its key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey } from '../../src/limit/address-key.js';
import { clientAddressOf, clientKeyOf } from '../../src/limit/client-address.js';
import { compileTrustedProxies } from '../../src/config/trusted-proxies.js';
import { MAX_HEADER_LINES } from '../../src/listen/framing-guard.js';
import { fakeRequest } from '../support/fake-request.js';

const xff = (...values: string[]): (readonly [string, string])[] => values.map((value) => ['X-Forwarded-For', value] as const);

test('an untrusted peer is the client, whatever X-Forwarded-For says', () => {
  for (const trusted of [compileTrustedProxies([]), compileTrustedProxies(['10.0.0.0/8'])]) {
    const req = fakeRequest({ remoteAddress: '192.0.2.10', headers: xff('203.0.113.7', '198.51.100.1') });
    assert.equal(clientAddressOf(req, trusted), '192.0.2.10');
  }
});

test('behind a trusted proxy the entry it appended is the client; what the client prepended is never the key', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8']);
  const cases: [string[], string][] = [
    [['203.0.113.7'], '203.0.113.7'],
    [['198.51.100.1, 203.0.113.7'], '203.0.113.7'],
    [['198.51.100.1', '203.0.113.7'], '203.0.113.7'], // two header lines are one list
    [['203.0.113.7, 10.1.1.1'], '203.0.113.7'], // a second trusted hop is skipped
    [['203.0.113.7:4711'], '203.0.113.7'],
    [['[2001:db8::5]:443'], '2001:db8::5'],
    [['"2001:db8::6"'], '2001:db8::6'],
    [['garbage, 10.1.1.1'], '10.1.1.1'], // a trusted hop wrote nonsense: the last known hop
    [['unknown'], '10.0.0.1'],
    [[], '10.0.0.1'],
  ];
  for (const [values, expected] of cases) {
    assert.equal(
      clientAddressOf(fakeRequest({ remoteAddress: '10.0.0.1', headers: xff(...values) }), trusted),
      expected,
      values.join(' | '),
    );
  }
  const spelled = fakeRequest({ remoteAddress: '10.0.0.1', headers: [['x-forwarded-FOR', '203.0.113.9']] });
  assert.equal(clientAddressOf(spelled, trusted), '203.0.113.9');
});

test('IPv6 addresses are keyed by their /64; IPv4-mapped addresses as IPv4', () => {
  assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff:eeee:dddd:9'));
  assert.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
  assert.equal(addressKey('2001:0db8:0001:0002::1'), addressKey('2001:db8:1:2::1'), 'leading zeros');
  assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  assert.equal(clientKeyOf(fakeRequest({ remoteAddress: '2001:db8:9:9::77' }), compileTrustedProxies([])), '2001:db8:9:9::/64');
});

test("a head Node's parser cut (MAX_HEADER_LINES lines or more) names the peer: the proxy's own line may be among those dropped", () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8']);
  const filler = Array.from({ length: MAX_HEADER_LINES - 1 }, (_, i) => [`A${i}`, 'x'] as const);
  // What Node kept of a head whose last line, the proxy's X-Forwarded-For, came after 2,000 others.
  const cut = fakeRequest({ remoteAddress: '10.0.0.1', headers: [['X-Forwarded-For', '6.6.6.6'], ...filler] });
  assert.equal(cut.rawHeaders.length, MAX_HEADER_LINES * 2);
  assert.equal(clientAddressOf(cut, trusted), '10.0.0.1', 'not the address the client wrote first');
  const whole = fakeRequest({ remoteAddress: '10.0.0.1', headers: [['X-Forwarded-For', '203.0.113.7'], ...filler.slice(1)] });
  assert.equal(clientAddressOf(whole, trusted), '203.0.113.7', 'one line fewer: read as usual');
});

test('an address a trusted proxy wrote is read in one spelling: IPv4-mapped forms as IPv4, IPv6 lower-case and compressed', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8']);
  const cases: [string, string][] = [
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'], // as written, every IPv4 client in the one /64 0:0:0:0::/64
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['[::FFFF:C000:0201]:443', '192.0.2.1'],
    ['::ffff:0:0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:5', '2001:db8::5'],
    ['::102:304', '::102:304'], // IPv4-compatible (deprecated), not mapped: an IPv6 address
  ];
  for (const [written, expected] of cases) {
    const req = fakeRequest({ remoteAddress: '10.0.0.1', headers: xff(written) });
    assert.equal(clientAddressOf(req, trusted), expected, written);
    assert.equal(clientKeyOf(req, trusted), addressKey(expected), written);
  }
  const hops = fakeRequest({ remoteAddress: '10.0.0.1', headers: xff('203.0.113.7, ::FFFF:10.1.1.1') });
  assert.equal(clientAddressOf(hops, trusted), '203.0.113.7', 'a trusted hop in a mapped spelling is still skipped');
});

test('a trusted proxy reaching a dual-stack listener (an IPv4-mapped peer) is trusted by its IPv4 entry', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8']);
  const req = fakeRequest({ remoteAddress: '::ffff:10.0.0.1', headers: xff('203.0.113.7') });
  assert.equal(clientAddressOf(req, trusted), '203.0.113.7');
});

test('behind a trusted proxy a zone never makes a key: the client with or without one is one client', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8']);
  const keys = ['::ffff:203.0.113.5%a', '::ffff:203.0.113.5%b', '::FFFF:203.0.113.5%c', '203.0.113.5'].map((entry) =>
    clientKeyOf(fakeRequest({ remoteAddress: '10.0.0.1', headers: xff(entry) }), trusted),
  );
  assert.deepEqual(new Set(keys), new Set(['203.0.113.5']));
  const other = clientKeyOf(fakeRequest({ remoteAddress: '10.0.0.1', headers: xff('::ffff:c000:202%a') }), trusted);
  assert.equal(other, '192.0.2.2', 'a zoned hex-mapped address is its own IPv4 client, not 0:0:0:0::/64');
});

test('behind a trusted NAT64 or SIIT translator each IPv4 client is its own key', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8']);
  const key = (entry: string): string => clientKeyOf(fakeRequest({ remoteAddress: '10.0.0.1', headers: xff(entry) }), trusted);
  assert.equal(key('64:ff9b::198.51.100.9'), '198.51.100.9');
  assert.equal(key('64:ff9b::c633:6409'), '198.51.100.9');
  assert.notEqual(key('64:ff9b::c000:201'), key('64:ff9b::c633:6409'));
  assert.equal(key('::ffff:0:c000:201'), '192.0.2.1');
});
