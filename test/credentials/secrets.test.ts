import assert from 'node:assert/strict';
import test from 'node:test';
import {
  cacheKeyOf,
  digestsEqual,
  generateApiToken,
  generateClientId,
  generateClientSecret,
  generateTokenId,
  hashSecret,
  isClientId,
  isTokenId,
  isWellFormedApiToken,
  isWellFormedClientSecret,
} from '../../src/credentials/secrets.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

test('API tokens: pcl_ prefix, 43 base62 chars of 256 random bits, 6 chars of checksum', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const token = generateApiToken();
    assert.match(token, /^pcl_[0-9A-Za-z]{49}$/);
    assert.ok(isWellFormedApiToken(token));
    assert.ok(!isWellFormedClientSecret(token), 'a token is not a client secret');
    seen.add(token);
  }
  assert.equal(seen.size, 200);
  // 62^43 ≥ 2^256: the body can carry every 256-bit value.
  assert.ok(43 * Math.log2(62) >= 256);
});

test('every one-character substitution of a token fails its checksum', () => {
  const token = generateApiToken();
  let tried = 0;
  for (let position = 4; position < token.length; position++) {
    for (const replacement of BASE62) {
      if (replacement === token[position]) continue;
      const typo = token.slice(0, position) + replacement + token.slice(position + 1);
      assert.equal(isWellFormedApiToken(typo), false, `typo at ${position} accepted`);
      tried++;
    }
  }
  assert.equal(tried, 49 * 61);
});

test('adjacent transpositions, truncation, extension, wrong prefix and case are refused', () => {
  const token = generateApiToken();
  for (let i = 4; i < token.length - 1; i++) {
    if (token[i] === token[i + 1]) continue;
    const swapped = token.slice(0, i) + token.charAt(i + 1) + token.charAt(i) + token.slice(i + 2);
    assert.equal(isWellFormedApiToken(swapped), false, `transposition at ${i} accepted`);
  }
  assert.equal(isWellFormedApiToken(token.slice(0, -1)), false);
  assert.equal(isWellFormedApiToken(`${token}0`), false);
  assert.equal(isWellFormedApiToken(`PCL_${token.slice(4)}`), false);
  assert.equal(isWellFormedApiToken(`pcs_${token.slice(4)}`), false);
  assert.equal(isWellFormedApiToken(''), false);
  assert.equal(isWellFormedApiToken(`${token.slice(0, 10)}-${token.slice(11)}`), false);
});

test('client secrets, client ids and token ids', () => {
  const secret = generateClientSecret();
  assert.match(secret, /^pcs_[0-9A-Za-z]{49}$/);
  assert.ok(isWellFormedClientSecret(secret));
  assert.ok(!isWellFormedApiToken(secret));
  const clientId = generateClientId();
  assert.match(clientId, /^cli_[0-9A-Za-z]{22}$/);
  assert.ok(isClientId(clientId));
  const tokenId = generateTokenId();
  assert.match(tokenId, /^tok_[0-9A-Za-z]{22}$/);
  assert.ok(isTokenId(tokenId));
  assert.notEqual(generateTokenId(), tokenId);
});

test('hashes: SHA-256 digests, compared in constant time', () => {
  const token = generateApiToken();
  const digest = hashSecret(token);
  assert.equal(digest.length, 32);
  assert.ok(digestsEqual(digest, hashSecret(token)));
  assert.ok(!digestsEqual(digest, hashSecret(generateApiToken())));
  assert.ok(!digestsEqual(digest, digest.subarray(0, 31)));
  const key = cacheKeyOf('bearer', token);
  assert.ok(!key.includes(token.slice(4)), 'a cache key is a digest, not the secret');
  assert.notEqual(cacheKeyOf('basic', 'a', token), cacheKeyOf('basic', 'b', token));
});
