/**
 * A real browser for the console tests: Debian's Chromium driven by playwright-core (which never
 * downloads a browser). Without Chromium the tests skip, except under CI, where they fail:
 * `.ci/run` installs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TestContext } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const CANDIDATES = [process.env.PORTCULLIS_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium binary, or undefined. */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/**
 * Launches Chromium for this test (closed when it ends), or skips the test (fails under CI) when
 * there is none. Returns undefined when skipped.
 */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  const path = chromiumPath();
  if (path === undefined) {
    if (process.env.CI)
      throw new Error('Chromium is missing: apt-get install -y chromium (the console tests need a real browser under CI)');
    t.skip('Chromium is not installed (apt-get install -y chromium)');
    return undefined;
  }
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath: path, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  return browser;
}

/** A fresh profile (no cookies, no storage) allowed to use the clipboard on `origin`. */
export async function newContext(browser: Browser, origin: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  return context;
}

const axeSource = (): string => readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: ReadonlyArray<{ readonly target: readonly string[] }>;
}

/**
 * Runs axe-core in the page (injected through the DevTools protocol, so the page's CSP does not
 * apply to it) and returns its serious and critical violations.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource());
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Every form control has a visible label and an accessible name; every button a name. Returns
 * the controls that do not.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const visible = (el: Element): boolean => {
      const box = (el as HTMLElement).getBoundingClientRect();
      return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const problems: string[] = [];
    for (const control of document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select, textarea')) {
      if (!visible(control)) continue;
      const labels = [...(control.labels ?? [])].filter((l) => visible(l) && (l.textContent ?? '').trim() !== '');
      if (labels.length === 0) problems.push(`${control.tagName.toLowerCase()}#${control.id}: no visible label`);
    }
    for (const button of document.querySelectorAll('button, a[href]')) {
      if (!visible(button)) continue;
      const text = (button.textContent ?? '').trim();
      if (text === '') problems.push(`${button.tagName.toLowerCase()}: no visible text`);
      const name = button.getAttribute('aria-label') ?? text;
      if (name === '' || !name.toLowerCase().startsWith(text.toLowerCase()))
        problems.push(`${button.tagName.toLowerCase()} "${text}": accessible name "${name}" does not start with its visible text`);
    }
    return problems;
  });
}

/** Signs in through the sign-in form, as a person would, and waits for the Tokens page. */
export async function signInPage(page: Page, c: { readonly adminUrl: string }, credential: string): Promise<void> {
  await page.goto(c.adminUrl);
  await page.getByLabel('Credential').fill(credential);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
  await pageReady(page);
}

/** Waits until the current page has rendered its data (or the message saying why not). */
export async function pageReady(page: Page): Promise<void> {
  // The page for the current address: after a click on a link the previous page is still shown,
  // and ready, until the hashchange event replaces it.
  await page.waitForFunction(() => {
    const current = document.getElementById('page');
    return current?.getAttribute('aria-busy') === 'false' && current.dataset.hash === location.hash;
  });
}
