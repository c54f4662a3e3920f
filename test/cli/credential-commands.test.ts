/**
 * `portcullis tokens create --owner`: how an admin issues an account owner's token from the
 * command line (docs/credentials.md "Account owners"); the token signs in to the console of the
 * gateway sharing the store, and is refused on its proxy routes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, runCliJson } from '../support/cli.js';
import { signInByApi, startConsoleGateway } from '../support/console.js';

test('tokens create --owner issues an owner token for an account; without --account it is refused', async (t) => {
  const c = await startConsoleGateway(t);
  const config = join(c.gw.dir, 'portcullis.yaml');
  writeFileSync(
    config,
    'store: { url: "sqlite:./portcullis.db" }\nroutes:\n  - name: a\n    match: { path: /a }\n    upstream: "https://127.0.0.1:9"\n    auth: "off"\n',
  );
  await runCliJson(['accounts', 'create', 'billing', '--scope', 'read-write', '--config', config]);
  const owner = await runCliJson<{ token: string; owner: boolean; account: string }>([
    'tokens',
    'create',
    '--label',
    'billing owner',
    '--scope',
    'read-write',
    '--account',
    'billing',
    '--owner',
    '--json',
    '--config',
    config,
  ]);
  assert.equal(owner.owner, true);
  assert.equal(owner.account, 'billing');
  const session = await signInByApi(c, owner.token);
  assert.equal(session.answer.status, 201);
  assert.equal(session.answer.json().owner, true);
  const proxied = await c.proxy('GET', owner.token);
  assert.equal(proxied.status, 401);
  assert.equal(proxied.json().code, 'auth.owner_credential');
  assert.equal(c.upstream.arrived.length, 0);

  const loose = await runCli(['tokens', 'create', '--label', 'loose', '--scope', 'read-write', '--owner', '--config', config]);
  assert.equal(loose.code, 1);
  assert.match(loose.stderr, /owner token needs an account/);
});
