/**
 * No secret ever reaches a log, a metric or an error body (docs/logging.md). Traffic carrying known
 * secrets in every place a client can put one; then every log line, every metric line (both
 * exposition formats) and every body and header Portcullis produced itself is searched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, sendRaw, type Answer } from '../support/client.js';
import { basic, fakeApiToken, KNOWN, randomBase62, startStandard } from './harness.js';

test('known tokens, client secrets, Basic passwords, query values and cookies appear in no log line, metric line or error body', async (t) => {
  const setup = await startStandard(t, { queryValues: ['page'] });
  const unknownToken = fakeApiToken();
  const clientSecret = `pcs_${randomBase62(49)}`;
  const basicPassword = `hunter2-${randomBase62(16)}`;
  const queryValue = `QUERYSECRET${randomBase62(16)}`;
  const cookieValue = `COOKIESECRET${randomBase62(16)}`;
  const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ${randomBase62(20)}.${randomBase62(40)}`;
  const formSecret = `FORMSECRET${randomBase62(16)}`;
  const secrets: Record<string, string> = {
    'read token': KNOWN.readToken,
    'write token': KNOWN.writeToken,
    'unknown token': unknownToken,
    'client secret': clientSecret,
    'Basic password': basicPassword,
    'query value': queryValue,
    cookie: cookieValue,
    jwt,
    'form secret': formSecret,
    'Basic header (client)': basic('cli_0123456789abcdefghijkl', clientSecret).slice(6),
    'Basic header (password)': basic('alice', basicPassword).slice(6),
    'Basic header (token)': basic('ci', KNOWN.writeToken).slice(6),
  };

  const cookie = `session=${cookieValue}; theme=dark`;
  const q = `?access_token=${queryValue}&client_secret=${queryValue}&page=1`;
  const requests: { method?: string; path: string; headers?: Record<string, string>; body?: string; expect: number }[] = [
    { path: `/private/a${q}`, headers: { authorization: `Bearer ${KNOWN.readToken}`, cookie }, expect: 200 },
    {
      method: 'POST',
      path: `/private/a${q}`,
      headers: { authorization: basic('ci', KNOWN.writeToken), cookie },
      body: `client_secret=${formSecret}`,
      expect: 200,
    },
    { method: 'POST', path: `/private/a${q}`, headers: { authorization: `Bearer ${KNOWN.readToken}` }, expect: 403 },
    { path: `/private/a${q}`, headers: { authorization: `Bearer ${unknownToken}`, cookie }, expect: 401 },
    { path: `/private/a${q}`, headers: { authorization: `Bearer ${jwt}` }, expect: 401 },
    { path: `/private/a${q}`, headers: { authorization: basic('cli_0123456789abcdefghijkl', clientSecret) }, expect: 401 },
    {
      method: 'POST',
      path: `/private/a${q}`,
      headers: { authorization: basic('alice', basicPassword), 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_secret=${formSecret}`,
      expect: 401,
    },
    { path: `/private/a${q}`, headers: { cookie }, expect: 401 },
    {
      path: `/public/a${q}`,
      headers: { authorization: `Bearer ${unknownToken}`, cookie, 'proxy-authorization': basic('p', basicPassword) },
      expect: 200,
    },
    { path: `/public/${KNOWN.readToken}/x`, expect: 200 },
    { path: `/nowhere${q}`, headers: { authorization: `Bearer ${KNOWN.readToken}`, cookie }, expect: 404 },
    { method: 'DELETE', path: `/docs/a${q}`, headers: { authorization: `Bearer ${KNOWN.readToken}` }, expect: 405 },
    { path: `/broken/a${q}`, headers: { authorization: basic('alice', basicPassword), cookie }, expect: 502 },
  ];

  const produced: string[] = [];
  const keep = (answer: Answer): void => {
    // Bodies and headers Portcullis wrote itself (problem+json); an upstream's answer passes
    // through unchanged and is the upstream's business.
    if (answer.headers['content-type'] === 'application/problem+json') produced.push(answer.body, JSON.stringify(answer.headers));
  };
  for (const request of requests) {
    const answer = await send(setup.url, request);
    assert.equal(answer.status, request.expect, `${request.method ?? 'GET'} ${request.path.slice(0, 20)}`);
    keep(answer);
  }
  const refusedTarget = await sendRaw(
    setup.port,
    `GET /private/../a${q} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${KNOWN.readToken}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(refusedTarget.status, 400);
  produced.push(refusedTarget.raw);
  const absolute = await sendRaw(
    setup.port,
    `GET http://alice:${basicPassword}@example.com/private/a HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(absolute.status, 400);
  produced.push(absolute.raw);

  const text = await send(setup.metricsUrl, { path: '/metrics' });
  const openMetrics = await send(setup.metricsUrl, {
    path: '/metrics',
    headers: { accept: 'application/openmetrics-text; version=1.0.0' },
  });
  const logText = setup.log.raw.join('');
  assert.ok(setup.log.access().length >= requests.length + 2, 'every request was logged');
  assert.ok(produced.length >= 10, 'error bodies were collected');

  const places: Record<string, string> = {
    'a log line': logText,
    'a metric line (text)': text.body,
    'a metric line (OpenMetrics)': openMetrics.body,
    'an error body or header': produced.join('\n'),
  };
  for (const [what, secret] of Object.entries(secrets)) {
    for (const [where, content] of Object.entries(places)) {
      assert.ok(!content.includes(secret), `the ${what} appears in ${where}`);
    }
  }
  // The path that carried a token was logged, masked.
  assert.ok(setup.log.access().some((line) => line.path === '/public/[redacted]/x'));
});
