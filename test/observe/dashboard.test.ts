import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../../src/config/repo-root.js';
import { createObservability } from '../../src/observe/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { dashboardPanels, dashboardQueries, metricNamesIn } from './dashboard.js';
import { minimalConfig } from './fixtures.js';

const ROOT = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const FILE = join(ROOT, 'docs', 'observability', 'grafana-dashboard.json');

/** Names a scrape exposes: counters and gauges as registered, histograms with their suffixes. */
function exposedNames(): Set<string> {
  const obs = createObservability({ config: minimalConfig(), logger: createLogger('silent'), version: 'test' });
  const names = new Set<string>();
  for (const metric of obs.registry.getMetricsAsArray()) {
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}

test('the Grafana dashboard is valid JSON, ready to import, and queries only metrics the registry exposes', () => {
  const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
  assert.equal(dashboard.uid, 'portcullis-overview');
  assert.ok(typeof dashboard.schemaVersion === 'number');
  const inputs = dashboard.__inputs as { name: string; pluginId: string }[];
  assert.deepEqual(
    inputs.map((i) => [i.name, i.pluginId]),
    [['DS_PROMETHEUS', 'prometheus']],
    'asks for its Prometheus data source on import',
  );

  const panels = dashboardPanels(dashboard);
  const ids = panels.map((p) => (p as { id?: unknown }).id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const queries = dashboardQueries(dashboard);
  assert.ok(queries.length >= 30, `${queries.length} queries`);

  const exposed = exposedNames();
  const used = new Set<string>();
  for (const { title, expr } of queries) {
    const names = metricNamesIn(expr);
    assert.ok(names.length > 0, `panel "${title}" queries a gateway metric: ${expr}`);
    for (const name of names) {
      assert.ok(exposed.has(name), `panel "${title}" uses ${name}, which the registry does not expose`);
      used.add(name);
    }
  }
  const variables = (dashboard.templating as { list: { name: string; definition?: string }[] }).list;
  for (const variable of variables) {
    for (const name of metricNamesIn(variable.definition ?? '')) assert.ok(exposed.has(name), `variable ${variable.name} uses ${name}`);
  }
  assert.deepEqual(
    variables.map((v) => v.name),
    ['datasource', 'job', 'instance', 'route'],
  );

  // Every Portcullis metric family appears on the dashboard.
  const families = [...exposed].filter((n) => n.startsWith('portcullis_')).map((n) => n.replace(/_(bucket|sum|count)$/, ''));
  for (const family of new Set(families)) {
    assert.ok(
      [...used].some((n) => n === family || n.startsWith(`${family}_`)),
      `${family} has a panel`,
    );
  }
  // Panels take their data source from the dashboard's variable.
  for (const panel of panels) {
    if ((panel as { type?: string }).type === 'row') continue;
    assert.deepEqual((panel as { datasource?: unknown }).datasource, { type: 'prometheus', uid: '${datasource}' }, String(panel.title));
  }
});
