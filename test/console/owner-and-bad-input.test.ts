/**
 * The console in Chromium for an account owner (only its account's tokens, only the Tokens page,
 * no scope above the account's) and with bad input: the API's message next to the field, never
 * a trace, and an expired session that sends the user to sign-in and keeps what they typed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, newContext, pageReady, signInPage } from '../support/browser.js';
import { startConsoleGateway } from '../support/console.js';

test("an account owner sees and manages only its own account's tokens", { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  const store = c.gw.services.store;
  await store.accounts.create('alpha', 'read-only');
  await store.accounts.create('beta', 'read-write');
  const owner = await c.token({ label: 'alpha owner', scope: 'read-write', account: 'alpha', owner: true });
  await c.token({ label: 'alpha-ci', scope: 'read-only', account: 'alpha' });
  const beta = await c.token({ label: 'beta-secret-project', scope: 'read-write', account: 'beta' });
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await signInPage(page, c, owner.token);

  const text = await page.locator('main').innerText();
  assert.match(text, /alpha-ci/);
  assert.doesNotMatch(text, /beta-secret-project/, "another account's token is not listed");
  assert.doesNotMatch(await page.content(), new RegExp(beta.record.id), 'nor its id');
  const links = await page.getByRole('navigation').getByRole('link').allInnerTexts();
  assert.deepEqual(links, ['Tokens'], 'an owner has only the Tokens page');
  await page.goto(`${c.adminUrl}/#accounts`);
  await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 1, name: 'Accounts' }).count(), 0);

  // The account field is the owner's; the filter too.
  assert.equal(await page.getByLabel('Account', { exact: true }).first().inputValue(), 'alpha');
  assert.equal(await page.getByLabel('Account', { exact: true }).first().getAttribute('readonly'), '');
  // Even when the page is tampered with, the API refuses another account and a wider scope.
  await page.evaluate(() => {
    const account = document.getElementById('token-account') as HTMLInputElement;
    account.removeAttribute('readonly');
  });
  await page.getByLabel('Label').fill('sneaky');
  await page.getByLabel('Account', { exact: true }).first().fill('beta');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page
    .locator('#token-account-error')
    .filter({ hasText: /account alpha only/ })
    .waitFor();
  await page.getByLabel('Account', { exact: true }).first().fill('alpha');
  await page.getByLabel('Scope', { exact: true }).selectOption('read-write');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page
    .locator('#token-scope-error')
    .filter({ hasText: /wider than account alpha allows now \(at most read-only\)/ })
    .waitFor();
  assert.equal(
    (await store.tokens.list()).some((x) => x.label === 'sneaky'),
    false,
    'nothing was created',
  );

  await page.getByLabel('Scope', { exact: true }).selectOption('read-only');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('#secret-box').waitFor();
  const made = (await store.tokens.list()).find((x) => x.label === 'sneaky');
  assert.equal(made?.account, 'alpha');
  assert.equal(made?.scope, 'read-only');
});

test("bad input shows the API's message next to the field, never a trace", { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await page.goto(c.adminUrl);
  await page.getByLabel('Credential').fill('pcl_wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#credential-error').filter({ hasText: /token/i }).waitFor();
  assert.equal(await page.getByLabel('Credential').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Credential').inputValue(), '', 'a refused credential is cleared from the field');

  await signInPage(page, c, c.adminToken);
  const before = (await c.gw.services.store.tokens.list()).length;
  const create = page.getByRole('button', { name: 'Create', exact: true });
  await create.click();
  await page.locator('#token-label-error').filter({ hasText: 'label is required' }).waitFor();
  assert.equal(await page.getByLabel('Label').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'token-label', 'focus goes to the field in error');

  await page.getByLabel('Label').fill('bad-expiry');
  await page.getByLabel('Expires in').fill('forever');
  await create.click();
  await page.locator('#token-expires-error').filter({ hasText: 'expiresIn must be a duration such as 30s, 10m, 1h or 30d' }).waitFor();
  assert.equal(await page.locator('#token-label-error').innerText(), '', 'the earlier error is cleared');

  await page.getByLabel('Expires in').fill('');
  await page.getByLabel('Account', { exact: true }).first().fill('nobody');
  await create.click();
  await page.locator('#token-account-error').filter({ hasText: 'no account named nobody' }).waitFor();

  await page.getByLabel('Account', { exact: true }).first().fill('');
  await page.getByLabel('Label').fill('   ');
  await create.click();
  await page.locator('#token-label-error').filter({ hasText: 'label is required' }).waitFor();

  const text = await page.locator('body').innerText();
  assert.doesNotMatch(text, /\n\s+at |Error:|stack|internal/i, 'no stack trace on the page');
  assert.equal((await c.gw.services.store.tokens.list()).length, before, 'nothing was created');
});

test('an expired session sends the user to sign-in and keeps what they typed', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t, ', sessionIdleTimeout: 2s');
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await signInPage(page, c, c.adminToken);
  await page.getByLabel('Label').fill('typed-before-expiry');
  await page.getByLabel('Scope', { exact: true }).selectOption('read-write');
  await page.getByLabel('Expires in').fill('12h');
  await sleep(3_500);
  await page.getByRole('button', { name: 'Create', exact: true }).click();

  await page.getByText('Your session has ended.').waitFor();
  assert.equal(await page.locator('#page').isHidden(), true, 'the page is set aside, not thrown away');
  assert.equal(await page.locator('#token-label').inputValue(), 'typed-before-expiry');
  assert.equal((await c.gw.services.store.tokens.list()).length, 1, 'nothing was created with the expired session');
  await page.getByLabel('Credential').fill(c.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Once signed in again the form is sent as it was typed.
  await page.locator('#secret-box').waitFor();
  const made = (await c.gw.services.store.tokens.list()).find((x) => x.label === 'typed-before-expiry');
  assert.equal(made?.scope, 'read-write');
  assert.ok(made?.expiresAt !== null);
  await pageReady(page);
});
