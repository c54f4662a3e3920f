/**
 * On a real `portcullis start` process: certificates renew without a restart.
 * The certificate files are replaced, SIGHUP (or, with --watch-config, the change itself) makes
 * both TLS listeners — proxy and admin — serve the new certificate to new connections, seen by
 * a real TLS client through the served certificate's serial; the expiry gauge follows.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import tls from 'node:tls';
import { createTestCa, sharedCerts, type TestCa, type TestCert } from '../support/certs.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

/** The serial of the certificate a TLS listener presents to a new connection. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial.toUpperCase());
    });
    socket.once('error', reject);
  });
}

const serialOf = (cert: TestCert): string => new X509Certificate(cert.cert).serialNumber.toUpperCase();
const notAfterOf = (cert: TestCert): number => Date.parse(new X509Certificate(cert.cert).validTo) / 1000;

/** Replaces a file the way cert-manager or an editor does: a new file renamed over the old one. */
function replaceFile(from: string, to: string): void {
  copyFileSync(from, `${to}.next`);
  renameSync(`${to}.next`, to);
}

interface Setup {
  readonly dir: string;
  readonly ca: TestCa;
  readonly first: TestCert;
  readonly second: TestCert;
  readonly configFile: string;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-renew-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const first = ca.issue('first', ['localhost', '127.0.0.1']);
  const second = ca.issue('second', ['localhost', '127.0.0.1']);
  assert.notEqual(serialOf(first), serialOf(second));
  copyFileSync(first.certPath, join(dir, 'tls.crt'));
  copyFileSync(first.keyPath, join(dir, 'tls.key'));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
tls: { cert: tls.crt, key: tls.key }
admin: { listen: "127.0.0.1:0", tls: { cert: tls.crt, key: tls.key } }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./pcl.db" }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstream.port}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    auth: "off"
`,
  );
  return { dir, ca, first, second, configFile };
}

async function metric(metricsPort: number, series: string): Promise<number | undefined> {
  const body = (await send(`http://127.0.0.1:${metricsPort}`, { path: '/metrics' })).body;
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('SIGHUP after replacing tls.cert/tls.key: new connections to the proxy and the admin listener get the new certificate', async (t) => {
  const { dir, ca, first, second, configFile } = await setup(t);
  const gw = await startGatewayProcess(t, configFile);
  assert.ok(gw.adminPort !== undefined);
  assert.equal(await servedSerial(gw.port, ca.caCert), serialOf(first));
  assert.equal(await servedSerial(gw.adminPort, ca.caCert), serialOf(first));
  const proxySeries = 'portcullis_tls_certificate_expiry_timestamp_seconds{kind="listener",name="proxy"}';
  assert.equal(await metric(gw.metricsPort, proxySeries), notAfterOf(first));
  assert.equal(
    await metric(gw.metricsPort, 'portcullis_tls_certificate_expiry_timestamp_seconds{kind="upstream_ca",name="api"}'),
    Date.parse(new X509Certificate(sharedCerts().ca.caCert).validTo) / 1000,
  );

  // A connection opened before the renewal keeps its session; only new handshakes change.
  const before = tls.connect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: ca.caCert });
  await new Promise<void>((resolve, reject) => before.once('secureConnect', resolve).once('error', reject));
  t.after(() => before.destroy());

  replaceFile(second.keyPath, join(dir, 'tls.key'));
  replaceFile(second.certPath, join(dir, 'tls.crt'));
  gw.child.kill('SIGHUP');
  await eventually(() => gw.events('config.reloaded').length === 1, 15_000, 'the reload');
  const reloaded = gw.events('config.reloaded')[0];
  assert.deepEqual(reloaded?.changed, ['tls', 'admin.tls']);
  assert.deepEqual(reloaded?.restartRequired, []);
  assert.doesNotMatch(gw.logs(), /BEGIN/, 'no PEM text in any log line');

  assert.equal(await servedSerial(gw.port, ca.caCert), serialOf(second));
  assert.equal(await servedSerial(gw.adminPort, ca.caCert), serialOf(second));
  assert.equal(before.getPeerCertificate().serialNumber.toUpperCase(), serialOf(first));
  assert.equal(await metric(gw.metricsPort, proxySeries), notAfterOf(second));
  assert.equal(
    await metric(gw.metricsPort, 'portcullis_tls_certificate_expiry_timestamp_seconds{kind="listener",name="admin"}'),
    notAfterOf(second),
  );
});

test('a renewed certificate whose key does not match is refused: the old certificate keeps serving', async (t) => {
  const { dir, ca, first, second, configFile } = await setup(t);
  const gw = await startGatewayProcess(t, configFile);
  replaceFile(second.certPath, join(dir, 'tls.crt')); // the new certificate without its key
  gw.child.kill('SIGHUP');
  await eventually(() => gw.events('config.reload_refused').length === 1, 15_000, 'the refusal');
  assert.match(gw.logs(), /tls\.key: the private key does not match the certificate in tls\.cert/);
  assert.equal(await servedSerial(gw.port, ca.caCert), serialOf(first));
});

test('--watch-config: replacing the certificate files is enough, no signal needed', async (t) => {
  const { dir, ca, first, second, configFile } = await setup(t);
  const gw = await startGatewayProcess(t, configFile, { args: ['--watch-config'] });
  assert.equal(await servedSerial(gw.port, ca.caCert), serialOf(first));
  replaceFile(second.keyPath, join(dir, 'tls.key'));
  replaceFile(second.certPath, join(dir, 'tls.crt'));
  await eventually(async () => (await servedSerial(gw.port, ca.caCert)) === serialOf(second), 15_000, 'the new certificate to be served');
  assert.ok(gw.events('config.reloaded').length >= 1);
});
