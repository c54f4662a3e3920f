/**
 * No lenient HTTP parsing, ever. The real CLI refuses to start when Node runs
 * with `--insecure-http-parser` (NODE_OPTIONS or the command line), with a clear message; every
 * listener parses strictly whatever the process default.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONSOLE_CSP } from '../../src/console/static-files.js';
import { lenientParserSource } from '../../src/listen/strict-parser.js';
import { CLI_PATH } from '../support/cli.js';
import { sendRaw } from '../support/client.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { assertNotADocument, assertProblem, fromAnswer } from '../support/problem.js';
import { startRecordingUpstream } from '../support/upstream.js';
import { initConfiguredTestStore } from '../support/init-store.js';

function run(
  args: readonly string[],
  env: Record<string, string>,
  execArgv: readonly string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...execArgv, CLI_PATH, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

test('portcullis start refuses to run with --insecure-http-parser, from NODE_OPTIONS or the node command line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-strict-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    gatewayYaml(`  - name: open\n    match: { path: /open }\n    upstream: "https://127.0.0.1:${upstream.port}"\n    auth: "off"\n`),
  );
  await initConfiguredTestStore(configFile);

  for (const [env, execArgv] of [
    [{ NODE_OPTIONS: '--insecure-http-parser' }, []],
    [{ NODE_OPTIONS: '--max-old-space-size=256 --insecure-http-parser' }, []],
    [{}, ['--insecure-http-parser']],
  ] as const) {
    const result = await run(['start', '--config', configFile], env, execArgv);
    assert.equal(result.code, 1, `exit status with ${JSON.stringify(env)} ${execArgv.join(' ')}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /refusing to start: Node\.js runs with --insecure-http-parser \(from (NODE_OPTIONS|the node command line)\)/,
    );
    assert.ok(!result.stdout.includes('gateway.started'), 'no listener was opened');
  }
  assert.equal(upstream.arrived.length, 0);
});

test('lenientParserSource reads NODE_OPTIONS and the command line as Node does (the last spelling wins)', () => {
  assert.equal(lenientParserSource([], undefined), undefined);
  assert.equal(lenientParserSource([], '--insecure-http-parser'), 'NODE_OPTIONS');
  assert.equal(lenientParserSource([], '"--insecure-http-parser"'), 'NODE_OPTIONS');
  assert.equal(lenientParserSource([], '--insecure-http-parser --no-insecure-http-parser'), undefined);
  assert.equal(lenientParserSource(['--insecure-http-parser'], undefined), 'the node command line');
  assert.equal(lenientParserSource(['--no-insecure-http-parser'], '--insecure-http-parser'), undefined);
  assert.equal(lenientParserSource(['--insecure-http-parser'], '--no-insecure-http-parser'), 'the node command line');
  assert.equal(lenientParserSource(['--max-http-header-size=1000'], '--trace-warnings'), undefined);
});

test('every listener parses strictly: an obs-folded Content-Length and a bare CR are refused, nothing reaches the upstream', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: open
    match: { path: /open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`),
    { UPSTREAM: upstream.origin },
  );
  const ports = [gw.port, gw.gateway.metricsAddress.port, gw.gateway.adminAddress?.port ?? 0];
  for (const port of ports) {
    const folded = await sendRaw(port, 'POST /open/x HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 5\r\n\r\nhello');
    assert.equal(folded.status, 400, `obs-fold on port ${port}`);
    const bareCr = await sendRaw(port, 'GET /open/x HTTP/1.1\r\nHost: a\r\nX-A: b\rX-B: c\r\n\r\n');
    assert.equal(bareCr.status, 400, `bare CR on port ${port}`);
    for (const answer of [folded, bareCr]) assertNotADocument(answer.headers, ` (port ${port})`);
  }
  // What Node would answer itself on a listener without a pipeline — no Host on HTTP/1.1, an
  // Expect it cannot meet — is a problem too, with the listener's headers.
  for (const port of ports) {
    const noHost = await sendRaw(port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    assertProblem(fromAnswer(noHost), 'request.malformed', `no Host on port ${port}`);
    const expectation = await sendRaw(port, 'GET /healthz HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nConnection: close\r\n\r\n');
    assertProblem(fromAnswer(expectation), 'request.expectation_failed', `Expect on port ${port}`);
    if (port === ports[2]) for (const answer of [noHost, expectation]) assert.equal(answer.headers['x-frame-options'], 'DENY');
  }
  // The admin listener's parser refusals carry its own hardening headers, as its other answers do.
  const adminRefusal = await sendRaw(ports[2] ?? 0, 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rX-B: c\r\n\r\n');
  assert.deepEqual([adminRefusal.headers['x-frame-options'], adminRefusal.headers['content-security-policy']], ['DENY', CONSOLE_CSP]);
  assert.equal(upstream.arrived.length, 0);
});
