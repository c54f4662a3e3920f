/**
 * The console's accessibility in Chromium: axe-core finds no serious or critical violation on
 * any page (sign-in, each page, a shown secret, an open confirmation), every control has a
 * visible label and an accessible name that starts with it, and create → copy → revoke works
 * from the keyboard alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, newContext, pageReady, seriousViolations, signInPage, unlabelledControls } from '../support/browser.js';
import { startConsoleGateway } from '../support/console.js';

async function checkPage(page: Page, what: string): Promise<void> {
  const violations = await seriousViolations(page);
  assert.deepEqual(
    violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `${what}: axe`,
  );
  assert.deepEqual(await unlabelledControls(page), [], `${what}: labels`);
}

test('axe-core finds no serious violation on any page, and every control is labelled', { timeout: 180_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  await c.gw.services.store.accounts.create('alpha', 'read-write');
  await c.gw.services.store.clients.create({ name: 'partner', scope: 'read-only', orgId: 'org-1' });
  await c.token({ label: 'existing', scope: 'read-only', account: 'alpha' });
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await page.goto(c.adminUrl);
  await page.getByLabel('Credential').waitFor();
  await checkPage(page, 'sign-in');
  await signInPage(page, c, c.adminToken);
  await checkPage(page, 'tokens');
  await page.getByLabel('Label').fill('a11y');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('#secret-box').waitFor();
  await checkPage(page, 'tokens with a secret shown');
  await page.getByRole('button', { name: 'Revoke token a11y' }).click();
  await page.getByRole('dialog').waitFor();
  await checkPage(page, 'revoke confirmation');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  for (const [hash, title] of [
    ['accounts', 'Accounts'],
    ['clients', 'OAuth clients'],
    ['routes', 'Routes'],
    ['keys', 'Signing keys'],
    ['audit', 'Audit'],
  ] as const) {
    await page.getByRole('link', { name: title }).click();
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
    await pageReady(page);
    assert.equal(new URL(page.url()).hash, `#${hash}`);
    await checkPage(page, title);
  }
});

test('create → copy → revoke from the keyboard alone', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  const page = await (await newContext(browser, c.adminUrl)).newPage();
  await page.goto(c.adminUrl);
  await page.getByLabel('Credential').waitFor();
  const focused = (): Promise<string> =>
    page.evaluate(() => {
      const el = document.activeElement;
      return el === null ? '' : `${el.id}|${el.getAttribute('aria-label') ?? ''}|${(el.textContent ?? '').trim()}`;
    });
  async function tabTo(matches: (f: string) => boolean, what: string, back = false): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if (matches(await focused())) return;
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    }
    assert.fail(`${what} cannot be reached with Tab`);
  }
  await tabTo((f) => f.startsWith('credential|'), 'the credential field');
  await page.keyboard.type(c.adminToken);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();

  await tabTo((f) => f.startsWith('token-label|'), 'the Label field');
  await page.keyboard.type('keyboard');
  await page.keyboard.press('Tab');
  assert.match(await focused(), /^token-scope\|/);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.match(await focused(), /^token-expires\|/);
  await page.keyboard.type('7d');
  await page.keyboard.press('Enter');
  await page.locator('#secret-box').waitFor();
  assert.match(await focused(), /Copy to clipboard/, 'focus moves to the copy button');
  await page.keyboard.press('Enter');
  await page.getByText('Copied to clipboard.').waitFor();
  const secret = (await page.locator('#secret-value').innerText()).trim();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  assert.equal((await c.proxy('GET', secret)).status, 200);

  await tabTo((f) => f.includes('|Revoke token keyboard|'), 'the Revoke button');
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor();
  assert.match(await focused(), /Cancel/, 'the confirmation opens on Cancel');
  await page.keyboard.press('Shift+Tab');
  assert.match(await focused(), /Revoke token$/);
  await page.keyboard.press('Enter');
  await page.getByRole('row', { name: /keyboard.*revoked/ }).waitFor();
  const [record] = await c.gw.services.store.tokens.list().then((all) => all.filter((x) => x.label === 'keyboard'));
  assert.ok(record?.revokedAt !== null);
  assert.equal((await c.proxy('GET', secret)).status, 401);
});
