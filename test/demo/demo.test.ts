/**
 * The README's first command, `portcullis demo`, as a newcomer runs it: a real process from the
 * repository root. Its first printed curl line is HTTPS and works as printed — the request
 * verifies the gateway's certificate against the CA file named by `--cacert` — and the gateway's
 * port does not speak plain HTTP.
 *
 * The demo listens on the fixed ports of config/demo.yaml (8443, 9443, 9090, 9091) and keeps its
 * certificates and store in the repository's .demo/, as `npx portcullis demo` does.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH } from '../support/cli.js';
import { repoRoot } from '../support/repo.js';

const READY_LINE = 'Ctrl-C stops the demo.';

/** Starts the demo and resolves with everything it printed on stderr up to its last line. */
async function startDemo(cwd: string): Promise<{ child: ChildProcess; printed: string }> {
  const child = spawn(process.execPath, [CLI_PATH, 'demo'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let printed = '';
  const ready = new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the demo printed no "${READY_LINE}" within 60 s:\n${printed}`)), 60_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      printed += chunk;
      if (printed.includes(READY_LINE)) {
        clearTimeout(timer);
        done(printed);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the demo exited (${code}) before it was ready:\n${printed}`));
    });
  });
  return { child, printed: await ready };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function httpsGet(url: string, ca: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = https.get(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
  });
}

/** A plain-HTTP request written on a raw TCP connection; resolves with every byte the port sent back before closing. */
function plainHttp(port: number, path: string): Promise<Buffer> {
  return new Promise((done, fail) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => done(Buffer.concat(chunks)));
    socket.on('close', () => done(Buffer.concat(chunks)));
    socket.setTimeout(15_000, () => {
      socket.destroy();
      fail(new Error('the port neither answered nor closed the connection within 15 s'));
    });
  });
}

test('portcullis demo: the first printed curl line is HTTPS, verified against the printed CA; plain HTTP gets no HTTP answer', async (t) => {
  const cwd = repoRoot();
  const { child, printed } = await startDemo(cwd);
  t.after(() => stop(child));

  const first = printed.split('\n').find((line) => line.trimStart().startsWith('curl '));
  assert.ok(first, `a curl line is printed:\n${printed}`);
  const match = /^\s*curl --cacert (\S+) -i (https:\/\/127\.0\.0\.1:(\d+)(\/\S*))$/.exec(first);
  assert.ok(match, `the first curl line is "curl --cacert FILE -i https://127.0.0.1:PORT/PATH": ${first}`);
  const [, caFile, url, port, path] = match as unknown as [string, string, string, string, string];
  assert.equal(caFile, '.demo/ca.pem', 'run from the repository root, the CA path is printed relative to it');
  const ca = readFileSync(resolve(cwd, caFile), 'utf8');

  // Client view: the gateway's certificate verifies against the printed CA, and the request passes.
  const answer = await httpsGet(url, ca);
  assert.equal(answer.status, 200, answer.body);
  // Upstream view: the sample API describes the request that reached it.
  const seen = JSON.parse(answer.body) as { upstream: string; method: string; path: string; headers: Record<string, string> };
  assert.equal(seen.upstream, 'sample-api');
  assert.equal(seen.method, 'GET');
  assert.equal(seen.path, path);
  assert.ok(seen.headers['x-request-id'], 'the gateway forwarded the request with its request id');

  // Without the demo CA the certificate is not trusted: --cacert is what makes the line work.
  await assert.rejects(httpsGet(url, undefined), (err: NodeJS.ErrnoException) => {
    assert.match(String(err.code), /UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
    return true;
  });

  // Plain HTTP on the gateway's port: no HTTP response comes back (the TLS listener closes or alerts).
  const bytes = await plainHttp(Number(port), path);
  assert.ok(!bytes.toString('latin1').startsWith('HTTP/'), `plain HTTP got an HTTP answer: ${bytes.toString('latin1').slice(0, 80)}`);
});

/** Runs `portcullis demo [--json]` to its end; resolves with its exit status and stderr. */
function runDemoToEnd(cwd: string, args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI_PATH, 'demo', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the demo did not exit within 30 s:\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

test('portcullis demo with a port held by another process: says which and what to change, exits 1, serves nothing', async () => {
  const cwd = repoRoot();
  // The gateway's listener (config/demo.yaml `listen`), then the sample API (its routes' upstream).
  for (const port of [8443, 9443]) {
    const holder = net.createServer();
    await new Promise<void>((done) => holder.listen(port, '127.0.0.1', done));
    try {
      const text = await runDemoToEnd(cwd, []);
      assert.equal(text.code, 1, text.stderr);
      assert.match(
        text.stderr,
        new RegExp(
          `portcullis demo: 127\\.0\\.0\\.1:${port} is already in use by another process: stop that process, or change that port in config/demo\\.yaml`,
        ),
      );
      assert.doesNotMatch(text.stderr, /Ctrl-C stops the demo/);
      const json = await runDemoToEnd(cwd, ['--json']);
      assert.equal(json.code, 1, json.stderr);
      const line = json.stderr.trim().split('\n').at(-1) ?? '';
      const { error } = JSON.parse(line) as { error: { code: string; address: string; command: string } };
      assert.deepEqual([error.code, error.address, error.command], ['listen.address_in_use', `127.0.0.1:${port}`, 'portcullis demo']);
    } finally {
      await new Promise((done) => holder.close(done));
    }
  }
});
