/**
 * PEM files named by the configuration (`upstreamCa`, `tls.cert`/`tls.key`, `jwksCa`),
 * generated with the openssl CLI at test time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadYaml, openssl, problems, selfSigned, tempDir, writeFile, y } from './helpers.js';

/** One route with `upstreamCa: <ca>` on line 5. */
const withCa = (ca: string): string =>
  y('routes:', '  - name: r', '    match: { path: /r }', '    upstream: https://backend.internal', `    upstreamCa: ${ca}`);

/** A route-less header with tls on lines 1-3, then one route. */
const withTls = (cert: string, key: string): string =>
  y(
    'tls:',
    `  cert: ${cert}`,
    `  key: ${key}`,
    'routes:',
    '  - name: r',
    '    match: { path: /r }',
    '    upstream: https://backend.internal',
  );

test('PEM file problems are located and explained', async (t) => {
  const dir = tempDir(t);
  selfSigned(dir, 'gw');
  selfSigned(dir, 'other');
  writeFile(dir, 'notes.txt', 'not a certificate\n');
  writeFile(dir, 'broken.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-aes-256-cbc',
    '-pass',
    'pass:secret',
    '-out',
    'encrypted-key.pem',
  ]);
  mkdirSync(path.join(dir, 'certs'));
  const abs = (name: string): string => path.join(dir, name);

  const cases: readonly { name: string; yaml: string; expected: readonly string[] }[] = [
    {
      name: 'missing upstreamCa file',
      yaml: withCa('missing.pem'),
      expected: [`5:17: routes[0].upstreamCa: cannot read "missing.pem" (${abs('missing.pem')}): file not found`],
    },
    {
      name: 'upstreamCa is a directory',
      yaml: withCa('certs'),
      expected: [`5:17: routes[0].upstreamCa: cannot read "certs" (${abs('certs')}): is a directory, expected a file`],
    },
    {
      name: 'non-PEM upstreamCa',
      yaml: withCa('notes.txt'),
      expected: [
        `5:17: routes[0].upstreamCa: "notes.txt" (${abs('notes.txt')}) is not a PEM certificate file; expected a "-----BEGIN CERTIFICATE-----" block`,
      ],
    },
    {
      name: 'upstreamCa with a certificate that does not parse',
      yaml: withCa('broken.pem'),
      expected: [`5:17: routes[0].upstreamCa: "broken.pem" (${abs('broken.pem')}): certificate 1 of 1 cannot be parsed`],
    },
    {
      name: 'a private key given as upstreamCa',
      yaml: withCa('gw-key.pem'),
      expected: [
        `5:17: routes[0].upstreamCa: "gw-key.pem" (${abs('gw-key.pem')}) is not a PEM certificate file; expected a "-----BEGIN CERTIFICATE-----" block`,
      ],
    },
    {
      name: 'tls key not matching the certificate',
      yaml: withTls('gw.pem', 'other-key.pem'),
      expected: [
        '3:8: tls.key: the private key does not match the certificate in tls.cert ("gw.pem"); expected the key the certificate was issued for',
      ],
    },
    {
      name: 'tls key that is a certificate',
      yaml: withTls('gw.pem', 'gw.pem'),
      expected: [`3:8: tls.key: "gw.pem" (${abs('gw.pem')}) is not a PEM private key file; expected a "-----BEGIN PRIVATE KEY-----" block`],
    },
    {
      name: 'encrypted tls key',
      yaml: withTls('gw.pem', 'encrypted-key.pem'),
      expected: [
        `3:8: tls.key: "encrypted-key.pem" (${abs('encrypted-key.pem')}) holds an encrypted private key; Portcullis needs it unencrypted (protect the file instead)`,
      ],
    },
    {
      name: 'tls cert missing and key missing',
      yaml: withTls('nope.pem', 'nope-key.pem'),
      expected: [
        `2:9: tls.cert: cannot read "nope.pem" (${abs('nope.pem')}): file not found`,
        `3:8: tls.key: cannot read "nope-key.pem" (${abs('nope-key.pem')}): file not found`,
      ],
    },
    {
      name: 'tls without its key',
      yaml: y('tls:', '  cert: gw.pem', 'routes:', '  - name: r', '    match: { path: /r }', '    upstream: https://backend.internal'),
      expected: ['2:3: tls.key: missing required key "key"; expected a string'],
    },
    {
      name: 'missing jwksCa',
      yaml: y(
        'routes:',
        '  - name: r',
        '    match: { path: /r }',
        '    upstream: https://backend.internal',
        'jwt:',
        '  issuers:',
        '    - issuer: https://idp.example.com',
        '      audience: api',
        '      jwksUrl: https://idp.example.com/jwks',
        '      jwksCa: idp-ca.pem',
      ),
      expected: [`10:15: jwt.issuers[0].jwksCa: cannot read "idp-ca.pem" (${abs('idp-ca.pem')}): file not found`],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.deepEqual(problems(loadYaml(dir, c.yaml)), c.expected));
  }
});

test('valid PEM files are resolved against the config file and compiled to their text', (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'certs'));
  const gw = selfSigned(path.join(dir, 'certs'), 'gw');
  const ca = selfSigned(path.join(dir, 'certs'), 'ca');
  const result = loadYaml(
    dir,
    y(
      'tls: { cert: certs/gw.pem, key: certs/gw-key.pem }',
      'routes:',
      '  - name: r',
      '    match: { path: /r }',
      '    upstream: https://backend.internal',
      `    upstreamCa: ${ca.cert}`,
      '  - name: s',
      '    match: { path: /s }',
      '    upstream: https://backend.internal',
      'jwt:',
      '  issuers: [{ issuer: idp, audience: api, jwksUrl: "https://idp/jwks", jwksCa: ./certs/ca.pem }]',
    ),
  );
  assert.deepEqual(problems(result), []);
  if (!result.ok) return;
  assert.equal(result.config.tls?.cert, readFileSync(gw.cert, 'utf8'));
  assert.equal(result.config.tls?.key, readFileSync(gw.key, 'utf8'));
  assert.equal(result.config.routes[0]?.upstream.ca, readFileSync(ca.cert, 'utf8'));
  assert.equal(result.config.routes[1]?.upstream.ca, undefined);
  assert.equal(result.config.jwt.issuers[0]?.jwksCa, readFileSync(ca.cert, 'utf8'));
});
