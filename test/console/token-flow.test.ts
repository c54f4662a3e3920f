/**
 * The console in a real browser (Chromium through playwright-core) against a real gateway and a
 * real HTTPS upstream: sign in, create a read-only token, copy it from the clipboard, use it at
 * the proxy, reload (the secret is gone), rotate, revoke (the proxy refuses it within 1 s), a
 * form posted from another origin, sign out (the old cookie is refused). Saves the screenshot of
 * the token page that README.md shows.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, newContext, seriousViolations, signInPage } from '../support/browser.js';
import { startConsoleGateway } from '../support/console.js';
import { send } from '../support/client.js';
import { repoRoot } from '../support/repo.js';

test('create, copy, use, reload, rotate, revoke and sign out in the browser', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === undefined) return;
  const c = await startConsoleGateway(t);
  const context = await newContext(browser, c.adminUrl);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Console messages about expected 401s (no session yet) are the browser's, not the page's.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });

  await signInPage(page, c, c.adminToken);
  assert.equal(page.url().includes(c.adminToken), false, 'the credential is not in the URL');
  assert.equal(await page.getByLabel('Credential').count(), 0, 'the sign-in field is gone');
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0]?.httpOnly, true);
  assert.equal(cookies[0]?.sameSite, 'Strict');
  const storage = await page.evaluate(() =>
    JSON.stringify({
      local: Object.fromEntries(Object.entries(localStorage)),
      session: Object.fromEntries(Object.entries(sessionStorage)),
    }),
  );
  assert.equal(storage, '{"local":{},"session":{}}', 'nothing in browser storage');

  // Create a read-only token.
  await page.getByLabel('Label').fill('ci-reader');
  await page.getByLabel('Scope', { exact: true }).selectOption('read-only');
  await page.getByLabel('Expires in').fill('30d');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const secretBox = page.locator('#secret-box');
  await secretBox.waitFor();
  assert.match(await secretBox.innerText(), /never be shown again/);
  const secret = (await page.locator('#secret-value').innerText()).trim();
  assert.match(secret, /^pcl_/);

  // Copy to clipboard, read it back.
  await page.getByRole('button', { name: 'Copy to clipboard' }).click();
  await page.getByText('Copied to clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

  // Use it against the proxy: a read passes, a write is refused and never reaches the upstream.
  const read = await c.proxy('GET', secret);
  assert.equal(read.status, 200);
  const write = await c.proxy('POST', secret);
  assert.equal(write.status, 403);
  assert.equal(write.json().code, 'auth.insufficient_scope');
  assert.deepEqual(
    c.upstream.arrived.map((r) => r.method),
    ['GET'],
  );

  // The row, as listed.
  const row = page.getByRole('row', { name: /ci-reader/ });
  assert.match(await row.innerText(), /Read only/);
  assert.match(await row.innerText(), /active/);

  // Reload: the secret is shown nowhere, stored nowhere.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
  await page.getByRole('row', { name: /ci-reader/ }).waitFor();
  assert.equal((await page.content()).includes(secret), false, 'the secret is not in the page after a reload');
  assert.equal(await page.locator('#secret-box').count(), 0);
  // docs/console.md shows this page: PORTCULLIS_UPDATE_SCREENSHOT=1 writes it there; otherwise it
  // goes to a temporary directory, so a test run leaves the checkout as it found it.
  const shotDir = process.env.PORTCULLIS_UPDATE_SCREENSHOT === '1' ? undefined : mkdtempSync(join(tmpdir(), 'portcullis-shot-'));
  if (shotDir !== undefined) t.after(() => rmSync(shotDir, { recursive: true, force: true }));
  const shot = join(shotDir ?? join(repoRoot(), 'docs'), 'console-tokens.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000, 'the screenshot shows the page');
  assert.deepEqual(await seriousViolations(page), []);

  // Rotate: a new secret, shown once; the old one stops.
  await page.getByRole('button', { name: 'Rotate token ci-reader' }).click();
  const rotateDialog = page.getByRole('dialog');
  await rotateDialog.getByRole('button', { name: 'Rotate' }).click();
  await page.locator('#secret-box').waitFor();
  const rotated = (await page.locator('#secret-value').innerText()).trim();
  assert.notEqual(rotated, secret);
  assert.equal((await c.proxy('GET', secret)).status, 401);
  assert.equal((await c.proxy('GET', rotated)).status, 200);
  await page.getByRole('button', { name: 'Done' }).click();
  assert.equal((await page.content()).includes(rotated), false, '"Done" removes the secret from the page');

  // A form posted from another origin (same site: only the port differs, so SameSite lets the
  // cookie go; the origin check refuses it).
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<form method="post" action="${c.adminUrl}/v1/tokens"><input name="label" value="evil"><input name="scope" value="admin"><button>go</button></form>`,
    );
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  t.after(() => evil.close());
  const evilPage = await context.newPage();
  await evilPage.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
  const [posted] = await Promise.all([
    evilPage.waitForResponse(`${c.adminUrl}/v1/tokens`),
    evilPage.getByRole('button', { name: 'go' }).click(),
  ]);
  assert.equal(posted.status(), 403);
  assert.equal(((await posted.json()) as { code: string }).code, 'console.cross_site');
  assert.equal(
    (await c.gw.services.store.tokens.list()).some((x) => x.label === 'evil'),
    false,
    'no token was created',
  );
  await evilPage.close();

  // Revoke, after a confirmation that says it cannot be undone; the proxy refuses within 1 s.
  await page.getByRole('button', { name: 'Revoke token ci-reader' }).click();
  const revokeDialog = page.getByRole('dialog');
  assert.match(await revokeDialog.innerText(), /cannot be undone/);
  await revokeDialog.getByRole('button', { name: 'Revoke token' }).click();
  const clicked = Date.now();
  let refusedAfter = Infinity;
  while (Date.now() - clicked < 5_000) {
    const answer = await c.proxy('GET', rotated);
    if (answer.status === 401) {
      refusedAfter = Date.now() - clicked;
      assert.equal(answer.json().code, 'auth.token_revoked');
      break;
    }
    await sleep(25);
  }
  t.diagnostic(`revoked through the page: the proxy refused the token ${refusedAfter} ms after the click`);
  assert.ok(refusedAfter < 1_000, `refused within 1 s (${refusedAfter} ms)`);
  await page.getByRole('row', { name: /ci-reader.*revoked/ }).waitFor();

  // Sign out: the old session cookie is refused by the server.
  const oldCookie = (await context.cookies())[0];
  assert.ok(oldCookie);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Credential').waitFor();
  const replay = await send(c.adminUrl, { path: '/console/session', headers: { cookie: `${oldCookie.name}=${oldCookie.value}` } });
  assert.equal(replay.status, 401);
  assert.equal(replay.json().code, 'console.session_required');
  assert.deepEqual(pageErrors, [], 'no script error on the page');
});
