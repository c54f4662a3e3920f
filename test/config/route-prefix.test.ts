/**
 * Route prefixes are normalised at load by the function request paths go through
 * (listen/request-target.ts), so every prefix `check` accepts is one a request can match: a
 * sweep of spellings shows that for each accepted prefix a request for it routes to it, and that
 * what no request could spell is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalisePathPrefix } from '../../src/config/values.js';
import { parseRequestTarget } from '../../src/listen/request-target.js';

/** The path a request for `prefix` is routed with, or undefined when such a request is refused. */
function routedPath(target: string): string | undefined {
  try {
    return parseRequestTarget(target).path;
  } catch {
    return undefined;
  }
}

/** How a client spells a written prefix on the wire: UTF-8 percent-encoded, the rest as written. */
function onTheWire(written: string): string {
  return written.replace(/[^\x00-\x7f]+/gu, (chars) => encodeURIComponent(chars));
}

const WRITTEN = [
  '/%c3%a9quipes',
  '/%C3%A9quipes',
  '/société',
  '/%7Estaff',
  '/%7estaff',
  '/~staff',
  '/pro%66iles',
  '/a%20b',
  '/a%25b',
  '/日本語/ドキュメント',
  '/emoji/😀',
  '/a%c3',
  '/x/',
  '/',
  '/a;b',
  '/a%3Bb',
  '/a%3fb',
  '/a%23b',
  '/a%2fb',
  '/a/%2e%2e/b',
  '/a%00',
  '/a\u0001b',
  '/a b',
  '/a"b',
  '/a<b>',
  '/a{b}',
  '/a|b',
  '/a^b',
  '/a`b',
  '/a%zz',
  '/a%',
];

function sweep(): string[] {
  const out = [...WRITTEN];
  for (let byte = 0; byte <= 0xff; byte++) {
    const hex = byte.toString(16).padStart(2, '0');
    out.push(`/p${String.fromCharCode(byte)}q`, `/p%${hex}q`, `/p%${hex.toUpperCase()}q/r`);
  }
  return out;
}

test('every accepted prefix is reachable: a request for it, as a client spells it, routes to exactly that prefix', () => {
  let accepted = 0;
  for (const written of sweep()) {
    const parsed = normalisePathPrefix(written);
    if (!parsed.ok) continue;
    accepted++;
    const prefix = parsed.value;
    // The stored prefix is itself a normalised request path (a fixed point of the function)…
    assert.equal(routedPath(prefix === '' ? '/' : prefix), prefix === '' ? '/' : prefix, `${JSON.stringify(written)} stored as ${prefix}`);
    // …a request spelled as written routes to it, and so does one below it.
    assert.equal(routedPath(onTheWire(written))?.replace(/\/$/, ''), prefix, `request for ${JSON.stringify(written)}`);
    assert.equal(routedPath(`${prefix}/below`), `${prefix}/below`, `request below ${JSON.stringify(written)}`);
  }
  assert.ok(accepted > 200, `${accepted} spellings accepted`);
});

test('a prefix no request can spell is refused with a located reason', () => {
  for (const written of ['/a;b', '/a%3Bb', '/a%3fb', '/a%23b', '/a%2fb', '/a/%2e%2e/b', '/a%00', '/a\u0001b', '/a"b', '/a<b>', '/a%zz']) {
    const parsed = normalisePathPrefix(written);
    assert.equal(parsed.ok, false, JSON.stringify(written));
    if (!parsed.ok) assert.match(parsed.message, /got /, written);
  }
});

test('the documented examples are stored as requests for them are routed', () => {
  const stored = (written: string): string | undefined => {
    const parsed = normalisePathPrefix(written);
    return parsed.ok ? parsed.value : undefined;
  };
  assert.equal(stored('/%c3%a9quipes'), '/%C3%A9quipes');
  assert.equal(stored('/société'), '/soci%C3%A9t%C3%A9');
  assert.equal(stored('/%7Estaff'), '/~staff');
  assert.equal(stored('/pro%66iles/'), '/profiles');
});
