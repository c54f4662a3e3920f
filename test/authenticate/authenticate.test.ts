/**
 * The authenticate stage behind a real HTTP server, with a real SQLite store and verifier.
 * Requests are written as raw bytes so header spellings and duplicates reach the server as sent.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import test, { type TestContext } from 'node:test';
import { createAuthenticator, createClosedAuthenticator } from '../../src/authenticate/index.js';
import { MAX_AUTHORIZATION_BYTES } from '../../src/authenticate/parse-authorization.js';
import { createCredentialVerifier } from '../../src/credentials/verify.js';
import { GatewayError } from '../../src/errors.js';
import type { Authenticate, CredentialScheme, Principal, RoutePolicy } from '../../src/types.js';
import { cacheSettings, tempStore } from '../credentials/helpers.js';

/** The stage only reads `credentials`; the rest of the route is irrelevant here. */
function route(...schemes: CredentialScheme[]): RoutePolicy {
  const partial: Pick<RoutePolicy, 'name' | 'credentials'> = { name: 'test', credentials: new Set(schemes) };
  return partial as RoutePolicy;
}

interface Answer {
  status: number;
  code: string | undefined;
  challenge: string | undefined;
  principal: Principal | undefined;
  synchronous: boolean | undefined;
}

/** A server that runs `authenticate` and reports what it decided. */
async function serve(t: TestContext, authenticate: Authenticate, policy: RoutePolicy): Promise<number> {
  const reply = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  };
  const refuse = (res: ServerResponse, error: unknown): void => {
    assert.ok(error instanceof GatewayError, String(error));
    reply(res, error.status, { code: error.code }, { ...error.headers });
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let result: Principal | Promise<Principal>;
    try {
      result = authenticate(policy, req);
    } catch (error) {
      refuse(res, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (principal) => reply(res, 200, { principal, synchronous: false }),
        (error: unknown) => refuse(res, error),
      );
    } else {
      reply(res, 200, { principal: result, synchronous: true });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** Sends header lines as raw bytes and parses the answer. */
function send(port: number, headerLines: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = Number(lines[0]?.split(' ')[1]);
      const challenge = lines
        .find((l) => l.toLowerCase().startsWith('www-authenticate:'))
        ?.slice('www-authenticate:'.length)
        .trim();
      const parsed = JSON.parse(body) as { code?: string; principal?: Principal; synchronous?: boolean };
      resolve({ status, code: parsed.code, challenge, principal: parsed.principal, synchronous: parsed.synchronous });
    });
    socket.write(['GET /x HTTP/1.1', 'Host: api.example.com', 'Connection: close', ...headerLines, '', ''].join('\r\n'));
  });
}

const BOTH = 'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"';
const BOTH_INVALID = 'Bearer realm="portcullis", error="invalid_token", Basic realm="portcullis", charset="UTF-8"';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

async function setup(t: TestContext, policy = route('bearer', 'basic')) {
  const { store } = await tempStore(t);
  const verifier = createCredentialVerifier({ store, cache: cacheSettings() });
  t.after(() => verifier.close());
  await verifier.start();
  const port = await serve(t, createAuthenticator(verifier), policy);
  return { store, verifier, port };
}

test("no credentials, or a scheme the route does not take: 401 auth.missing_credentials with the route's challenges", async (t) => {
  const { port, store, verifier } = await setup(t);
  assert.deepEqual(await send(port, []), {
    status: 401,
    code: 'auth.missing_credentials',
    challenge: BOTH,
    principal: undefined,
    synchronous: undefined,
  });
  const digest = await send(port, ['Authorization: Digest username="x"']);
  assert.equal(digest.code, 'auth.missing_credentials');
  assert.equal(digest.challenge, BOTH);

  const bearerOnly = await serve(t, createAuthenticator(verifier), route('bearer'));
  const { token } = await store.tokens.create({ label: 'l', scope: 'read-only' });
  const viaBasic = await send(bearerOnly, [`Authorization: Basic ${b64(`x:${token}`)}`]);
  assert.deepEqual([viaBasic.status, viaBasic.code, viaBasic.challenge], [401, 'auth.missing_credentials', 'Bearer realm="portcullis"']);
});

test('malformed Authorization: 400 auth.malformed_credentials, never a store lookup', async (t) => {
  const { port, verifier } = await setup(t);
  const cases: string[][] = [
    ['Authorization: Bearer a', 'Authorization: Bearer a'],
    ['Authorization: Bearer a', 'authorization: Basic YTpi'],
    ['Authorization: Bearer  abc'],
    ['Authorization: Bearer a b'],
    ['Authorization: Basic !!!!'],
    [`Authorization: Basic ${b64('nocolon')}`],
    [`Authorization: Basic ${b64('a\u0001:b')}`],
    [`Authorization: Bearer ${'a'.repeat(MAX_AUTHORIZATION_BYTES)}`],
    ['Authorization:'],
  ];
  for (const lines of cases) {
    const answer = await send(port, lines);
    assert.equal(answer.status, 400, lines.join(' | '));
    assert.equal(answer.code, 'auth.malformed_credentials');
    assert.match(answer.challenge ?? '', /error="invalid_request"/);
  }
  assert.equal(verifier.stats().storeReads, 0);
});

test('tokens and clients: 200 with the Principal, synchronous on the second request', async (t) => {
  const { port, store } = await setup(t);
  await store.accounts.create('ops', 'read-only');
  const issued = await store.tokens.create({ label: 'l', scope: 'read-write', account: 'ops' });
  const first = await send(port, [`authorization: bearer ${issued.token}`]);
  assert.equal(first.status, 200);
  assert.equal(first.synchronous, false);
  assert.deepEqual(first.principal, {
    kind: 'api_token',
    scheme: 'bearer',
    subject: 'ops',
    scope: 'read-only',
    credentialId: issued.record.id,
    account: 'ops',
  });
  const second = await send(port, [`Authorization: Bearer ${issued.token}`]);
  assert.deepEqual([second.status, second.synchronous], [200, true]);

  const viaBasic = await send(port, [`Authorization: Basic ${b64(`whoever:${issued.token}`)}`]);
  assert.equal(viaBasic.principal?.scheme, 'basic');
  const client = await store.clients.create({ name: 'svc', scope: 'read-write' });
  const asClient = await send(port, [`Authorization: Basic ${b64(`${client.record.clientId}:${client.clientSecret}`)}`]);
  assert.deepEqual(asClient.principal, {
    kind: 'oauth_client',
    scheme: 'basic',
    subject: client.record.clientId,
    scope: 'read-write',
    credentialId: client.record.clientId,
  });
});

test('refusals carry their code and the challenges; error="invalid_token" only for Bearer', async (t) => {
  const { port, store } = await setup(t);
  const issued = await store.tokens.create({ label: 'l', scope: 'read-only' });
  const unknown = await send(port, ['Authorization: Bearer pcl_0000000000000000000000000000000000000000000000000']);
  assert.deepEqual([unknown.status, unknown.code, unknown.challenge], [401, 'auth.invalid_token', BOTH_INVALID]);
  const wrongBasic = await send(port, [`Authorization: Basic ${b64('cli_0000000000000000000000:nope')}`]);
  assert.deepEqual([wrongBasic.status, wrongBasic.code, wrongBasic.challenge], [401, 'auth.invalid_credentials', BOTH]);
  await store.tokens.revoke(issued.record.id);
  const revoked = await send(port, [`Authorization: Bearer ${issued.token}`]);
  assert.deepEqual([revoked.status, revoked.code, revoked.challenge], [401, 'auth.token_revoked', BOTH_INVALID]);
});

test('store down: 503 auth.store_unavailable for uncached credentials', async (t) => {
  const { port, store } = await setup(t);
  const issued = await store.tokens.create({ label: 'l', scope: 'read-only' });
  const cachedToken = await store.tokens.create({ label: 'c', scope: 'read-only' });
  assert.equal((await send(port, [`Authorization: Bearer ${cachedToken.token}`])).status, 200);
  await store.close();
  const answer = await send(port, [`Authorization: Bearer ${issued.token}`]);
  assert.deepEqual([answer.status, answer.code], [503, 'auth.store_unavailable']);
  assert.equal((await send(port, [`Authorization: Bearer ${cachedToken.token}`])).status, 200);
});

test('the closed authenticator (no store) refuses everything', async (t) => {
  const port = await serve(t, createClosedAuthenticator(), route('bearer', 'basic'));
  assert.deepEqual([(await send(port, [])).status, (await send(port, [])).code], [401, 'auth.missing_credentials']);
  const presented = await send(port, ['Authorization: Bearer abc']);
  assert.deepEqual([presented.status, presented.code, presented.challenge], [401, 'auth.invalid_token', BOTH_INVALID]);
});
