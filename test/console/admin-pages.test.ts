/**
 * The admin pages in Chromium: Accounts (create, set scope, disable), OAuth clients (create with
 * org and technical account ids, the secret shown once, rotate, revoke), Routes (read-only), and
 * Signing keys and Audit, which read `GET /v1/signing-keys` and `GET /v1/audit`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newContext, pageReady, signInPage } from '../support/browser.js';
import { startConsoleGateway } from '../support/console.js';

test('accounts, OAuth clients and routes through the page', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  const store = c.gw.services.store;
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await signInPage(page, c, c.adminToken);

  await page.getByRole('link', { name: 'Accounts' }).click();
  await pageReady(page);
  await page.getByLabel('Name').fill('bad name!');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page
    .locator('#account-name-error')
    .filter({ hasText: /account name must be/ })
    .waitFor();
  await page.getByLabel('Name').fill('alpha');
  await page.getByLabel('Scope', { exact: true }).selectOption('read-write');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('row', { name: /alpha/ }).waitFor();
  assert.equal((await store.accounts.get('alpha'))?.scope, 'read-write');
  await page.getByLabel('New scope for alpha').selectOption('read-only');
  await page.getByRole('button', { name: 'Set scope of account alpha' }).click();
  // The Scope cell, not the row: the row's name holds the select's new value before the server answered.
  await page
    .getByRole('row', { name: /alpha/ })
    .locator('td')
    .nth(1)
    .filter({ hasText: /^\s*Read only\s*$/ })
    .waitFor();
  assert.equal((await store.accounts.get('alpha'))?.scope, 'read-only');
  await page.getByRole('button', { name: 'Disable account alpha' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disable account' }).click();
  await page.getByRole('button', { name: 'Enable account alpha' }).waitFor();
  assert.equal((await store.accounts.get('alpha'))?.disabled, true);

  await page.getByRole('link', { name: 'OAuth clients' }).click();
  await pageReady(page);
  await page.getByLabel('Name').fill('partner');
  await page.getByLabel('Org id').fill('org-42');
  await page.getByLabel('Technical account id').fill('tech-7');
  await page.getByRole('button', { name: 'Create client' }).click();
  await page.locator('#secret-box').waitFor();
  const secret = (await page.locator('#secret-value').innerText()).trim();
  assert.match(secret, /^pcs_/);
  assert.match(await page.locator('#secret-box').innerText(), /never be shown again/);
  const [client] = await store.clients.list();
  assert.equal(client?.orgId, 'org-42');
  assert.equal(client?.technicalAccountId, 'tech-7');
  await page.getByRole('button', { name: 'Rotate secret of client partner' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  await page.locator('#secret-value').filter({ hasNotText: secret }).waitFor();
  await page.getByRole('button', { name: 'Revoke client partner' }).click();
  assert.match(await page.getByRole('dialog').innerText(), /cannot be undone/);
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke client' }).click();
  await page.getByRole('row', { name: /partner.*revoked/ }).waitFor();
  assert.notEqual((await store.clients.get(client?.clientId ?? ''))?.revokedAt, null);

  await page.getByRole('link', { name: 'Routes' }).click();
  await pageReady(page);
  const routes = await page.locator('table').innerText();
  assert.match(routes, /api\s+any\s+\/api\s+all\s+required\s+read-write/);
  assert.match(routes, /status\s+any\s+\/status\s+all\s+off\s+read-only/);
  assert.equal(await page.locator('main button, main input, main select').count(), 0, 'the Routes page changes nothing');
});

/**
 * Needs `GET /v1/signing-keys`, `POST /v1/signing-keys/rotate` and `GET /v1/audit`, built on
 * another branch: skipped (outside CI) while the admin API does not have them.
 */
test('signing keys (list, rotate) and the audit trail through the page', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  const probe = await c.admin('/v1/audit?since=1h', { headers: { authorization: `Bearer ${c.adminToken}` } });
  const keysProbe = await c.admin('/v1/signing-keys', { headers: { authorization: `Bearer ${c.adminToken}` } });
  if ((probe.status === 404 || keysProbe.status === 404) && !process.env.CI) {
    t.skip('the admin API has no /v1/audit or /v1/signing-keys yet');
    return;
  }
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await signInPage(page, c, c.adminToken);
  await page.getByLabel('Label').fill('audited');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('#secret-box').waitFor();
  const secret = (await page.locator('#secret-value').innerText()).trim();

  await page.getByRole('link', { name: 'Signing keys' }).click();
  await pageReady(page);
  const before = (await c.gw.services.store.signingKeys.list())[0]?.kid;
  assert.ok(before);
  assert.match(await page.locator('table').innerText(), new RegExp(before));
  await page.getByRole('button', { name: 'Rotate signing key' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate key' }).click();
  const after = async (): Promise<string | undefined> => (await c.gw.services.store.signingKeys.list())[0]?.kid;
  for (let i = 0; i < 100 && (await after()) === before; i++) await new Promise((r) => setTimeout(r, 50));
  const active = await after();
  assert.notEqual(active, before);
  await page
    .locator('table')
    .filter({ hasText: String(active) })
    .waitFor();

  await page.getByRole('link', { name: 'Audit' }).click();
  await pageReady(page);
  const audit = await page.locator('table').innerText();
  assert.match(audit, /token\.create/);
  assert.match(audit, /credential:tok_/);
  assert.equal(audit.includes(secret), false, 'no secret in the audit trail');
});
