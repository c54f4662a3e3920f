/**
 * Path safety (docs/request-path.md) end to end: every vector of test/vectors/paths.json and a
 * 0x00-0xFF byte sweep go through a real gateway as raw request lines. Each is either refused with a
 * stable code and nothing reaches an upstream, or forwarded with exactly the documented target.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { loadVectors, rawBytes } from '../support/vectors.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

interface PathVector {
  readonly name: string;
  readonly target: string;
  readonly refuse?: ErrorCode;
  readonly forward?: string;
}

interface SweepPosition {
  readonly name: string;
  readonly template: string;
  readonly raw: { readonly forward: string; readonly query: string; readonly parserRanges: readonly string[] };
  readonly encoded: { readonly decode: string; readonly refuse: readonly string[] };
}

interface PathVectors {
  readonly forms: readonly PathVector[];
  readonly bypass: { readonly vectors: readonly PathVector[] };
  readonly sweeps: { readonly positions: readonly SweepPosition[] };
}

const VECTORS = loadVectors<PathVectors>('paths.json');

function inRanges(byte: number, ranges: readonly string[]): boolean {
  return ranges.some((range) => {
    const [from = '', to = from] = range.split('-');
    return byte >= parseInt(from, 16) && byte <= parseInt(to, 16);
  });
}

async function upstreams(t: TestContext, count: number): Promise<RecordingUpstream[]> {
  const list: RecordingUpstream[] = [];
  for (let i = 0; i < count; i++) {
    const upstream = await startRecordingUpstream();
    t.after(() => upstream.close());
    list.push(upstream);
  }
  return list;
}

function get(port: number, target: string | Buffer) {
  const line = typeof target === 'string' ? rawBytes(target) : target;
  return exchange(port, Buffer.concat([rawBytes('GET '), line, rawBytes(' HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')]), {
    settleMs: 0,
  });
}

const arrivals = (list: readonly RecordingUpstream[]): number => list.reduce((n, u) => n + u.arrived.length + u.upgrades.length, 0);

const TWO_ROUTES = `
  - name: public
    match: { path: /public }
    upstream: "\${PUBLIC}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private
    match: { path: /private }
    upstream: "\${PRIVATE}"
    upstreamCa: "\${CA}"
`;

test('every path form of test/vectors/paths.json is refused with its code or forwarded exactly as documented', async (t) => {
  const [publicUp, privateUp] = await upstreams(t, 2);
  assert.ok(publicUp && privateUp);
  const gw = await startTestGateway(t, gatewayYaml(TWO_ROUTES), { PUBLIC: publicUp.origin, PRIVATE: privateUp.origin });
  for (const vector of VECTORS.forms) {
    await t.test(`${vector.name}: ${JSON.stringify(vector.target)}`, async () => {
      const before = arrivals([publicUp, privateUp]);
      const { responses } = await get(gw.port, vector.target);
      const response = responses[0];
      assert.ok(response, 'a response');
      if (vector.refuse !== undefined) {
        assertProblem(fromRaw(response), vector.refuse);
        assert.equal(arrivals([publicUp, privateUp]), before, 'nothing reached an upstream');
      } else {
        assert.equal(response.status, 200, response.text());
        assert.equal(publicUp.arrived.length + privateUp.arrived.length, before + 1, 'exactly one request upstream');
        assert.equal(publicUp.received.at(-1)?.url, vector.forward, 'the upstream view');
        assert.equal(response.json<{ url: string }>().url, vector.forward, 'the client sees the upstream answer for that target');
      }
    });
  }
});

test('a byte sweep 0x00-0xFF at path positions, raw and %XX in both hex cases, is refused or forwarded as documented', async (t) => {
  const [publicUp, privateUp] = await upstreams(t, 2);
  assert.ok(publicUp && privateUp);
  const gw = await startTestGateway(t, gatewayYaml(TWO_ROUTES), { PUBLIC: publicUp.origin, PRIVATE: privateUp.origin });
  for (const position of VECTORS.sweeps.positions) {
    await t.test(position.name, async () => {
      const [before, after] = position.template.split('{}') as [string, string];
      const mismatches: string[] = [];
      const check = async (
        label: string,
        target: Buffer,
        expected: { forward: string } | { refuse: readonly ErrorCode[] },
      ): Promise<void> => {
        const arrivedBefore = arrivals([publicUp, privateUp]);
        const { responses } = await get(gw.port, target);
        const response = responses[0];
        const upstreamCount = arrivals([publicUp, privateUp]) - arrivedBefore;
        if (response === undefined) {
          mismatches.push(`${label}: no response`);
          return;
        }
        if ('forward' in expected) {
          const seen = publicUp.received.at(-1)?.url;
          if (response.status !== 200 || upstreamCount !== 1 || seen !== expected.forward) {
            mismatches.push(`${label}: expected forward ${expected.forward}, got ${response.status}, upstream ${upstreamCount}x ${seen}`);
          }
          return;
        }
        let code: string;
        try {
          code = response.json<{ code: string }>().code;
        } catch {
          code = '(no problem body)';
        }
        if (
          response.status !== 400 ||
          !expected.refuse.includes(code as ErrorCode) ||
          upstreamCount !== 0 ||
          response.headers['content-type'] !== 'application/problem+json'
        ) {
          mismatches.push(
            `${label}: expected 400 ${expected.refuse.join('|')}, got ${response.status} ${code}, upstream ${upstreamCount}x`,
          );
        }
      };
      for (let byte = 0; byte <= 0xff; byte++) {
        const ch = String.fromCharCode(byte);
        const hex = byte.toString(16).padStart(2, '0');
        const rawTarget = Buffer.concat([rawBytes(before), Buffer.from([byte]), rawBytes(after)]);
        if (position.raw.forward.includes(ch) || position.raw.query.includes(ch)) {
          await check(`raw 0x${hex}`, rawTarget, { forward: `${before}${ch}${after}` });
        } else if (inRanges(byte, position.raw.parserRanges)) {
          await check(`raw 0x${hex}`, rawTarget, { refuse: ['request.malformed', 'request.invalid_path'] });
        } else {
          await check(`raw 0x${hex}`, rawTarget, { refuse: ['request.invalid_path'] });
        }
        for (const escape of new Set([hex, hex.toUpperCase()])) {
          const target = rawBytes(`${before}%${escape}${after}`);
          if (byte < 0x80 && position.encoded.decode.includes(ch)) {
            await check(`%${escape}`, target, { forward: `${before}${ch}${after}` });
          } else if (inRanges(byte, position.encoded.refuse)) {
            await check(`%${escape}`, target, { refuse: ['request.invalid_path'] });
          } else {
            await check(`%${escape}`, target, { forward: `${before}%${hex.toUpperCase()}${after}` });
          }
        }
      }
      assert.deepEqual(mismatches, []);
      assert.equal(privateUp.arrived.length, 0, 'the auth: required route never saw anything');
    });
  }
});

test('routing and the upstream see the same normalised path: /pro%66iles goes to the /profiles route as /profiles', async (t) => {
  const [profilesUp, openUp] = await upstreams(t, 2);
  assert.ok(profilesUp && openUp);
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: profiles
    match: { path: /profiles }
    upstream: "\${PROFILES}/v2"
    upstreamCa: "\${CA}"
    auth: "off"
  - name: open
    match: { path: / }
    upstream: "\${OPEN}"
    upstreamCa: "\${CA}"
    auth: "off"
`),
    { PROFILES: profilesUp.origin, OPEN: openUp.origin },
  );
  const cases: readonly (readonly [string, string | null])[] = [
    ['/pro%66iles', '/v2/profiles'],
    ['/pro%66iles/42?x=%66', '/v2/profiles/42?x=%66'],
    ['/%70%72%6F%66%69%6C%65%73/x', '/v2/profiles/x'],
    ['/profiles%2dx', null],
  ];
  for (const [target, upstreamUrl] of cases) {
    const before: number = profilesUp.arrived.length;
    const openBefore: number = openUp.arrived.length;
    const { responses } = await get(gw.port, target);
    assert.equal(responses[0]?.status, 200, target);
    if (upstreamUrl === null) {
      // `/profiles-x` is not under /profiles: the open route takes it, as the upstream path says.
      assert.equal(profilesUp.arrived.length, before, target);
      assert.equal(openUp.received.at(-1)?.url, '/profiles-x', target);
    } else {
      assert.equal(profilesUp.arrived.length, before + 1, target);
      assert.equal(openUp.arrived.length, openBefore, `${target} did not go to the open route`);
      assert.equal(profilesUp.received.at(-1)?.url, upstreamUrl, target);
    }
  }
});

test('policy bypass attempts never reach the stricter route\'s upstream unauthenticated (paths.json "bypass")', async (t) => {
  const [privateUp, openUp] = await upstreams(t, 2);
  assert.ok(privateUp && openUp);
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: private
    match: { path: /private }
    upstream: "\${PRIVATE}"
    upstreamCa: "\${CA}"
    auth: required
  - name: open
    match: { path: / }
    upstream: "\${OPEN}"
    upstreamCa: "\${CA}"
    auth: "off"
`),
    { PRIVATE: privateUp.origin, OPEN: openUp.origin },
  );
  for (const vector of VECTORS.bypass.vectors) {
    await t.test(`${vector.name}: ${JSON.stringify(vector.target)}`, async () => {
      const openBefore = openUp.arrived.length;
      const { responses } = await get(gw.port, vector.target);
      const response = responses[0];
      assert.ok(response);
      if (vector.refuse !== undefined) {
        assertProblem(fromRaw(response), vector.refuse);
        assert.equal(openUp.arrived.length, openBefore, 'nothing reached the open upstream either');
      } else {
        assert.equal(response.status, 200);
        assert.equal(openUp.received.at(-1)?.url, vector.forward);
      }
      assert.equal(privateUp.arrived.length, 0, 'the private upstream never saw a request');
    });
  }
});
