/**
 * With real HTTPS upstreams: an expired certificate, a certificate for another
 * name, one from an unknown CA, and a port where nothing listens. The gateway's 502 is logged with
 * Node's reason as a bounded field, and `portcullis check --probe` reports each problem at its
 * route before going live.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createTestCa } from '../support/certs.js';
import { runCli } from '../support/cli.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Setup {
  readonly configFile: string;
  readonly upstreams: Record<string, RecordingUpstream>;
}

const EXPECTED: Readonly<Record<string, string>> = {
  expired: 'CERT_HAS_EXPIRED',
  'wrong-name': 'ERR_TLS_CERT_ALTNAME_INVALID',
  'unknown-ca': 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  refused: 'ECONNREFUSED',
};

async function setup(t: TestContext): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-probe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = createTestCa();
  const stranger = createTestCa();
  t.after(() => {
    ca.cleanup();
    stranger.cleanup();
  });
  const certs = {
    good: ca.issue('good', ['localhost', '127.0.0.1']),
    expired: ca.issueBetween('expired', ['localhost', '127.0.0.1'], '20200101000000Z', '20200102000000Z'),
    'wrong-name': ca.issue('wrong', ['elsewhere.test']),
    'unknown-ca': stranger.issue('stranger', ['localhost', '127.0.0.1']),
  };
  const upstreams: Record<string, RecordingUpstream> = {};
  for (const [name, cert] of Object.entries(certs)) {
    const upstream = await startRecordingUpstream({ cert: cert.cert, key: cert.key });
    t.after(() => upstream.close());
    upstreams[name] = upstream;
  }
  const ports: Record<string, number> = {
    ...Object.fromEntries(Object.entries(upstreams).map(([n, u]) => [n, u.port])),
    refused: await closedPort(),
  };
  const routes = Object.entries(ports)
    .map(
      ([name, port]) =>
        `  - name: ${name}\n    match: { path: /${name} }\n    upstream: "https://127.0.0.1:${port}"\n    upstreamCa: "${ca.caCertPath}"\n    auth: "off"`,
    )
    .join('\n');
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\nroutes:\n${routes}\n`,
  );
  return { configFile, upstreams };
}

test('check --probe reports reachability and certificate problems per route, located in the file', async (t) => {
  const { configFile } = await setup(t);
  const json = await runCli(['check', '--config', configFile, '--probe', '--json']);
  assert.equal(json.code, 1, json.stderr);
  const result = JSON.parse(json.stdout) as {
    ok: boolean;
    probes: { route: string; ok: boolean; reason?: string; message: string; line: number; column: number; path: string; file: string }[];
  };
  assert.equal(result.ok, false);
  const byRoute = new Map(result.probes.map((p) => [p.route, p]));
  assert.equal(byRoute.get('good')?.ok, true);
  assert.match(byRoute.get('good')?.message ?? '', /certificate valid until 20\d\d-/);
  for (const [route, reason] of Object.entries(EXPECTED)) {
    const probe = byRoute.get(route);
    assert.equal(probe?.ok, false, route);
    assert.equal(probe?.reason, reason, route);
  }
  assert.match(byRoute.get('expired')?.message ?? '', /expired/);
  assert.match(byRoute.get('wrong-name')?.message ?? '', /does not name the host/);
  assert.match(byRoute.get('unknown-ca')?.message ?? '', /upstreamCa/);
  assert.match(byRoute.get('refused')?.message ?? '', /refused/);
  // Routes are 5 lines each from line 6; the upstream is the route's third line, column 15.
  const names = ['good', 'expired', 'wrong-name', 'unknown-ca', 'refused'];
  names.forEach((name, i) => {
    const probe = byRoute.get(name);
    assert.deepEqual([probe?.file, probe?.line, probe?.column, probe?.path], [configFile, 8 + i * 5, 15, `routes[${i}].upstream`], name);
  });

  const text = await runCli(['check', '--config', configFile, '--probe']);
  assert.equal(text.code, 1);
  assert.match(
    text.stderr,
    new RegExp(
      `${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:13:15: routes\\[1\\]\\.upstream: route "expired": https://127\\.0\\.0\\.1:\\d+: the upstream's certificate has expired \\(CERT_HAS_EXPIRED\\)`,
    ),
  );
  assert.match(text.stderr, /4 of 5 routes cannot reach their upstream/);
  assert.equal((await runCli(['check', '--config', configFile])).code, 0, 'without --probe nothing is contacted');
});

test("the 502 of an upstream TLS failure is logged with Node's reason; nothing reaches the upstream", async (t) => {
  const { configFile, upstreams } = await setup(t);
  const gw = await startGatewayProcess(t, configFile);
  const url = `http://127.0.0.1:${gw.port}`;
  for (const route of Object.keys(EXPECTED)) {
    const answer = await send(url, { path: `/${route}/x` });
    assert.equal(answer.status, 502, route);
    assert.equal(answer.json().code, route === 'refused' ? 'upstream.unavailable' : 'upstream.tls_error', route);
  }
  assert.equal((await send(url, { path: '/good/x' })).status, 200);
  await eventually(() => gw.events('upstream.error').length === 4, 5_000, 'four upstream.error lines');
  const reasons = Object.fromEntries(gw.events('upstream.error').map((line) => [String(line.route), line.reason]));
  assert.deepEqual(reasons, EXPECTED);
  for (const name of ['expired', 'wrong-name', 'unknown-ca']) assert.equal(upstreams[name]?.received.length, 0, `${name} received nothing`);
});
