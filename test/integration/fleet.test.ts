/**
 * The fleet (docs/deployment.md): three real `portcullis start` processes and the real CLI on one
 * PostgreSQL database.
 *
 *   - a credential created anywhere (CLI, one instance's admin API) works on every instance;
 *   - set-scope, rotate, disable and revoke reach all three, each delay (from before the change
 *     is made to the moment the last instance answers the new way) asserted below 1 s;
 *   - access tokens issued by one instance verify on the others, and `keys rotate` reaches all;
 *   - one instance cut off from the database through a TCP relay the test freezes goes unready
 *     and refuses cached credentials within cache.maxStaleness plus one feed check, while the
 *     others serve; a revocation made meanwhile is applied when it reconnects, before any cached
 *     credential is accepted again.
 *
 * Two views throughout: what each gateway answers, and what the recording upstream received.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { openStore } from '../../src/credentials/open-store.js';
import type { CredentialStore } from '../../src/credentials/store.js';
import { sharedCerts } from '../support/certs.js';
import { runCliJson } from '../support/cli.js';
import { send, type Answer } from '../support/client.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway.js';
import { freshDatabase } from '../support/postgres.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { basic, decode } from '../oauth/helpers.js';
import { keyEncryptionKeys } from '../../src/oauth/key-encryption.js';
import { generateSigningKey, protectSigningKey } from '../../src/oauth/signing-keys.js';

const PROPAGATION_BOUND_MS = 1_000;
const MAX_STALENESS_MS = 1_000;
const POLL_MS = 250;
/** The loaded test machine's allowance on top of a bound (scheduling, the probe request itself). */
const MARGIN_MS = 750;

interface Fleet {
  readonly gateways: readonly GatewayProcess[];
  readonly upstream: RecordingUpstream;
  /** The test's own connection to the database: the changes whose delay is measured. */
  readonly store: CredentialStore;
  /** The CLI, configured on the database directly. */
  cli<T>(args: string[]): Promise<T>;
  /** The relay in front of the database for the third instance. */
  readonly relay: TcpRelay;
  /** The fleet's key-encryption key (oauth.keyEncryptionKey). */
  readonly kek: string;
}

function configYaml(upstreamPort: number): string {
  const ca = sharedCerts().ca.caCertPath;
  return `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "\${STORE_URL}", queryTimeout: 1s }
cache: { maxStaleness: 1s }
oauth: { issuer: "https://fleet.portcullis.test", audience: "api", keyEncryptionKey: "\${PORTCULLIS_KEK}" }
log: { level: info }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstreamPort}"
    upstreamCa: "${ca}"
    access: read-write
  - name: open
    match: { path: /open }
    upstream: "https://127.0.0.1:${upstreamPort}"
    upstreamCa: "${ca}"
    auth: "off"
`;
}

async function startFleet(t: TestContext): Promise<Fleet> {
  const { url } = await freshDatabase(t);
  const target = new URL(url);
  const relay = await startTcpRelay(target.hostname, Number(target.port));
  t.after(() => relay.close());
  const viaRelay = new URL(url);
  viaRelay.port = String(relay.port);
  const dir = mkdtempSync(join(tmpdir(), 'pcl-fleet-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, configYaml(upstream.port));
  const kek = randomBytes(32).toString('base64');
  const env = { STORE_URL: url, PORTCULLIS_KEK: kek };
  // Started one after the other: the first migrates the empty database and stores the key.
  const gateways = [
    await startGatewayProcess(t, configFile, { env }),
    await startGatewayProcess(t, configFile, { env }),
    await startGatewayProcess(t, configFile, { env: { ...env, STORE_URL: viaRelay.toString() } }),
  ];
  const store = await openStore(url, { create: true });
  t.after(() => store.close());
  return { gateways, upstream, store, relay, kek, cli: <T>(args: string[]) => runCliJson<T>([...args, '--config', configFile], env) };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function codeOf(answer: Answer): string | undefined {
  try {
    return answer.json<{ code?: string }>().code;
  } catch {
    return undefined;
  }
}

/** The scope the upstream was told (the recording upstream echoes what it received). */
function scopeSeen(answer: Answer): string | undefined {
  if (answer.status !== 200) return undefined;
  const seen = answer.json<{ headers: Record<string, string> }>().headers['x-portcullis-scope'];
  return typeof seen === 'string' ? seen : undefined;
}

/**
 * Makes a change, then asks every gateway until `arrived` says the change is visible there;
 * returns the delay from before the change to the last gateway's first changed answer.
 */
async function propagation(
  gateways: readonly GatewayProcess[],
  change: () => Promise<unknown>,
  probe: (gw: GatewayProcess) => Promise<Answer>,
  arrived: (answer: Answer) => boolean,
): Promise<number[]> {
  const began = performance.now();
  await change();
  return Promise.all(
    gateways.map(async (gw) => {
      for (;;) {
        const answer = await probe(gw);
        if (arrived(answer)) return performance.now() - began;
        if (performance.now() - began > 10_000)
          assert.fail(`${gw.url}: the change never arrived (last answer ${answer.status} ${answer.body.slice(0, 200)})`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }),
  );
}

function assertWithinBound(t: TestContext, what: string, delays: number[]): void {
  t.diagnostic(`${what}: ${delays.map((d) => d.toFixed(0)).join(', ')} ms, one per instance`);
  for (const delay of delays) assert.ok(delay < PROPAGATION_BOUND_MS, `${what}: ${delay.toFixed(0)} ms`);
}

test('fleet on PostgreSQL: created anywhere, works everywhere; set-scope, rotate, disable, enable and revoke reach all three within 1 s; access tokens and key rotation cross instances', async (t) => {
  const fleet = await startFleet(t);
  const { gateways, store } = fleet;
  const [a, b] = gateways;
  assert.ok(a && b);

  // Created by the CLI, and through the admin API of instance 2.
  await fleet.cli(['accounts', 'create', 'team', '--scope', 'read-write']);
  const member = await fleet.cli<{ id: string; token: string }>([
    'tokens',
    'create',
    '--label',
    'member',
    '--scope',
    'read-write',
    '--account',
    'team',
  ]);
  const admin = await fleet.cli<{ token: string }>(['tokens', 'create', '--label', 'ops', '--scope', 'admin']);
  const viaApi = await send(b.adminUrl ?? assert.fail('instance 2 has an admin listener'), {
    method: 'POST',
    path: '/v1/tokens',
    headers: { ...bearer(admin.token), 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'made-on-2', scope: 'read-only' }),
  });
  assert.equal(viaApi.status, 201, viaApi.body);
  const standalone = viaApi.json<{ id: string; token: string }>();
  for (const gw of gateways) {
    const first = await send(gw.url, { path: '/api/who', headers: bearer(member.token) });
    assert.equal(scopeSeen(first), 'read-write', `${gw.url}: the CLI's token works`);
    assert.equal(
      scopeSeen(await send(gw.url, { path: '/api/who', headers: bearer(standalone.token) })),
      'read-only',
      `${gw.url}: instance 2's token works`,
    );
  }

  // set-scope: every instance narrows the account's token.
  assertWithinBound(
    t,
    'set-scope',
    await propagation(
      gateways,
      () => store.accounts.setScope('team', 'read-only'),
      (gw) => send(gw.url, { path: '/api/who', headers: bearer(member.token) }),
      (answer) => scopeSeen(answer) === 'read-only',
    ),
  );

  // rotate (no grace): the old secret is refused everywhere, the new one works everywhere.
  let rotated = '';
  assertWithinBound(
    t,
    'rotate',
    await propagation(
      gateways,
      async () => {
        rotated = (await store.tokens.rotate(member.id)).token;
      },
      (gw) => send(gw.url, { path: '/api/who', headers: bearer(member.token) }),
      (answer) => answer.status === 401 && codeOf(answer) === 'auth.invalid_token',
    ),
  );
  for (const gw of gateways) assert.equal((await send(gw.url, { path: '/api/who', headers: bearer(rotated) })).status, 200);

  // disable: the account's tokens stop everywhere.
  assertWithinBound(
    t,
    'disable',
    await propagation(
      gateways,
      () => store.accounts.disable('team'),
      (gw) => send(gw.url, { path: '/api/who', headers: bearer(rotated) }),
      (answer) => codeOf(answer) === 'auth.token_revoked',
    ),
  );

  // enable: the account's tokens work again everywhere (each instance cached the refusal).
  assertWithinBound(
    t,
    'enable',
    await propagation(
      gateways,
      () => store.accounts.enable('team'),
      (gw) => send(gw.url, { path: '/api/who', headers: bearer(rotated) }),
      (answer) => answer.status === 200,
    ),
  );

  // revoke: instance 2's token stops everywhere.
  assertWithinBound(
    t,
    'revoke',
    await propagation(
      gateways,
      () => store.tokens.revoke(standalone.id),
      (gw) => send(gw.url, { path: '/api/who', headers: bearer(standalone.token) }),
      (answer) => codeOf(answer) === 'auth.token_revoked',
    ),
  );

  // Access tokens: issued by instance 1, verified by all; a key rotation reaches every signer.
  const client = await fleet.cli<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'svc',
    '--scope',
    'read-write',
  ]);
  const issue = async (gw: GatewayProcess): Promise<string> => {
    const answer = await send(gw.url, {
      method: 'POST',
      path: '/oauth2/token',
      body: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.client_id, client.client_secret) },
    });
    assert.equal(answer.status, 200, answer.body);
    return answer.json<{ access_token: string }>().access_token;
  };
  const before = await issue(a);
  for (const gw of gateways)
    assert.equal((await send(gw.url, { path: '/api/jwt', headers: bearer(before) })).status, 200, `${gw.url} verifies instance 1's token`);
  const oldKid = decode(before).header.kid;
  const signsWith = async (gw: GatewayProcess): Promise<Answer> => ({
    status: 200,
    headers: {},
    body: await issue(gw),
    json: () => ({}) as never,
  });
  // Timed: a rotation committed by this process (as `keys rotate` does it, sealed with the KEK),
  // so the delay is the fleet's and not a CLI process's start-up.
  let newKid = '';
  const encryption = keyEncryptionKeys(fleet.kek);
  assertWithinBound(
    t,
    'key rotation (every instance signs with the new key)',
    await propagation(
      gateways,
      async () => {
        newKid = (await store.signingKeys.rotate(protectSigningKey(await generateSigningKey(), encryption))).active.kid;
      },
      signsWith,
      (answer) => decode(answer.body).header.kid === newKid,
    ),
  );
  assert.notEqual(newKid, oldKid);
  // The operator's command reaches every instance too.
  const rotated2 = await fleet.cli<{ kid: string; encryptedWith: string }>(['keys', 'rotate']);
  assert.equal(rotated2.encryptedWith, encryption.current?.id, "sealed with the fleet's KEK");
  await propagation(
    gateways,
    () => Promise.resolve(),
    signsWith,
    (answer) => decode(answer.body).header.kid === rotated2.kid,
  );
  const after = await issue(b);
  for (const gw of gateways) {
    assert.equal((await send(gw.url, { path: '/api/jwt', headers: bearer(after) })).status, 200, `${gw.url} verifies the new key's token`);
    assert.equal(
      (await send(gw.url, { path: '/api/jwt', headers: bearer(before) })).status,
      200,
      `${gw.url} still verifies the old key's token`,
    );
  }
});

test('fleet on PostgreSQL: an instance cut off from the database goes unready and refuses cached credentials; on reconnection it applies the revocation it missed before trusting its cache', async (t) => {
  const fleet = await startFleet(t);
  const { gateways, store, relay, upstream } = fleet;
  const [a, b, cut] = gateways;
  assert.ok(a && b && cut);
  const doomed = await store.tokens.create({ label: 'doomed', scope: 'read-only' });
  const kept = await store.tokens.create({ label: 'kept', scope: 'read-only' });
  for (const gw of gateways) {
    for (const token of [doomed.token, kept.token])
      assert.equal((await send(gw.url, { path: '/api/warm', headers: bearer(token) })).status, 200);
  }
  assert.equal((await send(cut.metricsUrl, { path: '/readyz' })).status, 200);

  const frozenAt = performance.now();
  relay.freeze();
  let refusedAfterMs: number;
  for (;;) {
    const answer = await send(cut.url, { path: '/api/probe', headers: bearer(kept.token) });
    if (answer.status === 503) {
      refusedAfterMs = performance.now() - frozenAt;
      assert.equal(codeOf(answer), 'auth.store_unavailable');
      break;
    }
    assert.equal(answer.status, 200);
    if (performance.now() - frozenAt > 10_000) assert.fail('the cut-off instance kept accepting its cached credential');
    await new Promise((r) => setTimeout(r, 10));
  }
  t.diagnostic(
    `cut-off instance refused its cached credential ${refusedAfterMs.toFixed(0)} ms after the freeze (bound ${MAX_STALENESS_MS} + ${POLL_MS} ms)`,
  );
  assert.ok(refusedAfterMs <= MAX_STALENESS_MS + POLL_MS + MARGIN_MS, `${refusedAfterMs.toFixed(0)} ms`);

  const ready = await send(cut.metricsUrl, { path: '/readyz' });
  assert.equal(ready.status, 503);
  assert.match(String(ready.json().reason), /change feed was last confirmed [\d.]+ s ago \(cache\.maxStaleness 1\.0 s\)/);
  const arrivedBefore = upstream.arrived.length;
  for (const token of [doomed.token, kept.token]) {
    const answer = await send(cut.url, { path: '/api/during', headers: bearer(token) });
    assert.equal(answer.status, 503);
    assert.equal(codeOf(answer), 'auth.store_unavailable');
  }
  assert.equal(upstream.arrived.length, arrivedBefore, 'nothing reached the upstream from the cut-off instance');
  assert.equal((await send(cut.url, { path: '/open/during' })).status, 200, 'auth: off keeps serving');

  // Meanwhile the others serve, and a revocation reaches them.
  for (const gw of [a, b]) assert.equal((await send(gw.metricsUrl, { path: '/readyz' })).status, 200);
  assertWithinBound(
    t,
    'revoke during the partition (instances 1-2)',
    await propagation(
      [a, b],
      () => store.tokens.revoke(doomed.record.id),
      (gw) => send(gw.url, { path: '/api/x', headers: bearer(doomed.token) }),
      (answer) => codeOf(answer) === 'auth.token_revoked',
    ),
  );

  // Reconnected: from the first answer that accepts anything, the revoked token is refused.
  const thawedAt = performance.now();
  relay.thaw();
  const seen: { token: string; status: number; code: string | undefined }[] = [];
  let keptBack = false;
  while (!keptBack) {
    for (const [name, token] of [
      ['doomed', doomed.token],
      ['kept', kept.token],
    ] as const) {
      const answer = await send(cut.url, { path: '/api/after', headers: bearer(token) });
      seen.push({ token: name, status: answer.status, code: codeOf(answer) });
      if (name === 'kept' && answer.status === 200) keptBack = true;
    }
    if (performance.now() - thawedAt > 15_000) assert.fail(`the instance never recovered: ${JSON.stringify(seen.slice(-4))}`);
  }
  t.diagnostic(`recovered ${(performance.now() - thawedAt).toFixed(0)} ms after the thaw`);
  for (const { status, code } of seen.filter((s) => s.token === 'doomed')) {
    assert.notEqual(status, 200, 'the token revoked during the partition was never accepted');
    assert.ok(code === 'auth.store_unavailable' || code === 'auth.token_revoked', String(code));
  }
  assert.equal(codeOf(await send(cut.url, { path: '/api/x', headers: bearer(doomed.token) })), 'auth.token_revoked');
  assert.equal((await send(cut.metricsUrl, { path: '/readyz' })).status, 200);
});
