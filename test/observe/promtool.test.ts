/**
 * Proof with the real tool: Prometheus' own linter and rule checker.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../../src/config/repo-root.js';
import { send } from '../support/client.js';
import { startStandard } from './harness.js';
import { requireTool, run } from './tools.js';
import { sendStandardTraffic } from './traffic.js';

const ROOT = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const OBSERVABILITY = join(ROOT, 'docs', 'observability');

test('promtool check metrics passes on the scrape output after traffic (text format, with the default metrics)', async (t) => {
  const promtool = requireTool(t, 'promtool');
  if (promtool === undefined) return;
  const setup = await startStandard(t);
  await sendStandardTraffic(setup);
  setup.obs.recordReload('failure');
  setup.obs.recordReload('success');
  setup.obs.tokenIssued();
  setup.obs.credentialEvents.changeApplied(120);
  const scrape = await send(setup.metricsUrl, { path: '/metrics' });
  assert.equal(scrape.status, 200);
  assert.ok(scrape.body.includes('portcullis_requests_total{'), 'the scrape has traffic series');
  const result = await run(promtool, ['check', 'metrics'], scrape.body);
  assert.equal(result.code, 0, `promtool check metrics failed (${result.code}):\n${result.stdout}${result.stderr}`);
  assert.equal(result.stdout + result.stderr, '', 'no lint problem reported');
});

test('promtool check rules passes on docs/observability/alerts.yml', async (t) => {
  const promtool = requireTool(t, 'promtool');
  if (promtool === undefined) return;
  const result = await run(promtool, ['check', 'rules', join(OBSERVABILITY, 'alerts.yml')]);
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  // Every rule of the file, counted from its `- alert:` lines, is found.
  const rules = readFileSync(join(OBSERVABILITY, 'alerts.yml'), 'utf8').match(/^\s+- alert: /gm)?.length ?? 0;
  assert.ok(rules >= 15, `${rules} rules in alerts.yml`);
  assert.match(result.stdout, new RegExp(`SUCCESS: ${rules} rules found`));
});

test('promtool test rules: the alerts fire on failing traffic and stay quiet on healthy traffic (docs/observability/alerts.test.yml)', async (t) => {
  const promtool = requireTool(t, 'promtool');
  if (promtool === undefined) return;
  const result = await run(promtool, ['test', 'rules', 'alerts.test.yml'], undefined, OBSERVABILITY);
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /SUCCESS/);
});
