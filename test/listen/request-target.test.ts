import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import { NORMALISES_TO_SEPARATOR, parseRequestTarget } from '../../src/listen/request-target.js';
import { loadVectors } from '../support/vectors.js';

interface PathVector {
  readonly name: string;
  readonly target: string;
  readonly refuse?: string;
  readonly forward?: string;
}

const { forms } = loadVectors<{ forms: readonly PathVector[] }>('paths.json');

function outcome(target: string): string {
  try {
    const { path, search } = parseRequestTarget(target);
    return path + search;
  } catch (error) {
    assert.ok(error instanceof GatewayError, `only coded errors: ${String(error)}`);
    return `!${error.code}`;
  }
}

test('the vectors of test/vectors/paths.json that reach path safety give the documented outcome', () => {
  let checked = 0;
  for (const vector of forms) {
    // Bytes Node's parser refuses never reach here; 404s are the router's.
    if (vector.refuse === 'request.malformed' || vector.refuse === 'route.not_found') continue;
    const expected = vector.forward ?? `!${vector.refuse}`;
    assert.equal(outcome(vector.target), expected, `${vector.name}: ${JSON.stringify(vector.target)}`);
    checked++;
  }
  assert.ok(checked > 60);
});

test('control bytes and non-ASCII characters that a lenient parser let through are refused too', () => {
  for (const target of ['/a\u0000b', '/a\tb', '/a\u007fb', '/caf\u00e9', '/a b', '/a\u2028b', '/a?b\u0000', '/a?b c', '/a?\u00e9']) {
    assert.equal(outcome(target), '!request.invalid_path', JSON.stringify(target));
  }
});

test('a path is returned as the same string when nothing needed normalising', () => {
  const target = '/profiles/42/items.json';
  assert.equal(parseRequestTarget(target).path, target);
  assert.equal(parseRequestTarget('/a/%C3%A9').path, '/a/%C3%A9');
});

test('percent-encoded bytes must be well-formed UTF-8: overlong, surrogate, stray and truncated forms are refused; valid ones kept', () => {
  for (const target of [
    '/public/%C0%AE%C0%AE/admin',
    '/public/%C0%AF',
    '/public/%E0%80%AE',
    '/public/%F0%80%80%AE',
    '/public/%C1%BF',
    '/public/%ED%A0%80',
    '/public/%F4%90%80%80',
    '/public/%F5%80%80%80',
    '/public/%80',
    '/public/%BF',
    '/public/%C3',
    '/public/%C3a',
    '/public/%E2%82',
    '/public/%FF',
    '/public/%C3%A9%A9',
  ]) {
    assert.equal(outcome(target), '!request.invalid_path', target);
  }
  for (const target of [
    '/public/caf%C3%A9',
    '/public/%E2%82%AC',
    '/public/%F0%9F%98%80',
    '/public/%F4%8F%BF%BF',
    '/public/%EF%BF%BD',
    '/public/%ED%9F%BF',
  ]) {
    assert.equal(outcome(target), target, target);
  }
});

test('characters NFKC turns into dots, / or \\ are refused encoded: the fullwidth full stop and kin; the list is every such code point', () => {
  for (const target of [
    '/public/%EF%BC%8E%EF%BC%8E/admin',
    '/public/%EF%BC%8F',
    '/public/%EF%BC%BC',
    '/public/%E2%80%A5',
    '/public/a%E2%84%80b',
  ]) {
    assert.equal(outcome(target), '!request.invalid_path', target);
  }
  const expected: number[] = [];
  for (let c = 0x80; c < 0x110000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const n = String.fromCodePoint(c).normalize('NFKC');
    if (/^\.+$/.test(n) || /[/\\]/.test(n)) expected.push(c);
  }
  assert.deepEqual(
    [...NORMALISES_TO_SEPARATOR].sort((a, b) => a - b),
    expected,
  );
});

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('50,000 generated targets: every accepted path is unambiguous, normal, and a fixed point', () => {
  const random = prng(4_004);
  const pieces = [
    'a',
    'B',
    '.',
    '..',
    '/',
    '%2e',
    '%2E',
    '%2f',
    '%5c',
    '%41',
    '%7e',
    '%c3',
    '%a9',
    '%c0',
    '%ae',
    '%e0',
    '%80',
    '%ef%bc%8e',
    '%f4',
    '%90',
    '%25',
    '%',
    '%4',
    '%zz',
    ';',
    '\\',
    '~',
    '-',
    '_',
    '!',
    ':',
    '@',
    '?',
    '=',
    '&',
    '%00',
    '%20',
  ];
  for (let i = 0; i < 50_000; i++) {
    const length = 1 + Math.floor(random() * 8);
    let target = '/';
    for (let j = 0; j < length; j++) target += pieces[Math.floor(random() * pieces.length)] ?? '';
    let result;
    try {
      result = parseRequestTarget(target);
    } catch (error) {
      assert.ok(error instanceof GatewayError && error.code === 'request.invalid_path', target);
      continue;
    }
    const { path, search } = result;
    assert.equal(target.endsWith(search), true, `${target}: the query is kept byte for byte`);
    const segments = path.split('/').slice(1);
    segments.forEach((segment, k) => {
      assert.ok(segment !== '.' && segment !== '..', `${target} → ${path}: no dot segment`);
      assert.ok(segment !== '' || k === segments.length - 1, `${target} → ${path}: no empty segment`);
    });
    assert.doesNotMatch(path, /[\\;]/, `${target} → ${path}`);
    for (const escape of path.match(/%../g) ?? []) {
      assert.match(escape, /^%[0-9A-F]{2}$/, `${target} → ${path}: upper-case, valid escape`);
      const byte = parseInt(escape.slice(1), 16);
      assert.ok(byte !== 0x2f && byte !== 0x5c && byte >= 0x20 && byte !== 0x7f, `${target} → ${path}: no encoded / \\ or control`);
      assert.ok(!/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)), `${target} → ${path}: unreserved are decoded`);
    }
    const bytes: number[] = [];
    for (let k = 0; k < path.length; k++) {
      if (path[k] === '%') {
        bytes.push(parseInt(path.slice(k + 1, k + 3), 16));
        k += 2;
      } else bytes.push(path.charCodeAt(k));
    }
    const decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    for (const ch of decoded) assert.ok(!NORMALISES_TO_SEPARATOR.has(ch.codePointAt(0) as number), `${target} → ${path}`);
    const again = parseRequestTarget(path + search);
    assert.equal(again.path, path, `${target}: normalising twice changes nothing`);
  }
});
