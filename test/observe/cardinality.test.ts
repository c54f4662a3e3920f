/**
 * Label values only from bounded sets (docs/metrics.md): 10,000 requests to distinct random paths with
 * distinct random tokens, methods and query strings must not add a single Portcullis series
 * after the first hundred requests.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { METHOD_LABELS } from '../../src/observe/labels.js';
import { scrape, seriesKey, type Exposition } from './exposition.js';
import { basic, fakeApiToken, randomBase62, startStandard } from './harness.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'] as const;
const CATEGORIES = ['unmatched', 'private', 'public'] as const;
const TOTAL = 10_000;
const EARLY = 100;
const CONCURRENCY = 32;

function portcullisSeries(m: Exposition): Set<string> {
  return new Set(m.samples.filter((s) => s.name.startsWith('portcullis_')).map(seriesKey));
}

function otherFamilies(m: Exposition): Set<string> {
  return new Set([...m.types.keys()].filter((name) => !name.startsWith('portcullis_')));
}

test('10,000 requests to random paths with random tokens: the number of series does not grow after the first 100', async (t) => {
  const setup = await startStandard(t, { level: 'warn' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.after(() => agent.destroy());

  // The first requests go through every category × method deterministically, so every series
  // the mix can produce exists by request 100; later ones are random.
  const request = (i: number): Promise<number> => {
    const category = i < EARLY ? CATEGORIES[i % 3] : CATEGORIES[Math.floor(Math.random() * 3)];
    const method = i < EARLY ? METHODS[Math.floor(i / 3) % METHODS.length] : METHODS[Math.floor(Math.random() * METHODS.length)];
    const random = randomBase62(24);
    const query = `?${randomBase62(6)}=${randomBase62(12)}&q${i}=${random}`;
    const path = category === 'unmatched' ? `/${random}/${i}${query}` : `/${category}/${random}/${i}${query}`;
    const headers: Record<string, string> = { 'x-request-id': `r-${random}` };
    if (category === 'private') headers.authorization = i % 2 === 0 ? `Bearer ${fakeApiToken()}` : basic(randomBase62(8), fakeApiToken());
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: setup.port, method, path, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  };

  const statuses = new Map<number, number>();
  const runRange = async (from: number, to: number): Promise<void> => {
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to) {
        const status = await request(next++);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };

  await runRange(0, EARLY);
  const early = await scrape(setup.metricsUrl);
  await runRange(EARLY, TOTAL);
  const late = await scrape(setup.metricsUrl);

  assert.deepEqual([...statuses.keys()].sort(), [200, 401, 404], 'the mix exercised forwarded, refused and unmatched requests');
  const earlySeries = portcullisSeries(early);
  const lateSeries = portcullisSeries(late);
  assert.deepEqual(
    [...lateSeries].filter((key) => !earlySeries.has(key)),
    [],
    'no Portcullis series appeared after request 100',
  );
  assert.equal(lateSeries.size, earlySeries.size);
  assert.deepEqual(otherFamilies(late), otherFamilies(early), 'no default metric family appeared either');

  const requests = late.samples.filter((s) => s.name === 'portcullis_requests_total');
  assert.equal(
    requests.reduce((sum, s) => sum + s.value, 0),
    TOTAL,
    'every request was counted',
  );
  // Every label value is from a bounded set: route names, the method list, status codes.
  const routes = new Set(['none', ...setup.config.routes.map((r) => r.name)]);
  for (const sample of late.samples.filter((s) => s.name.startsWith('portcullis_'))) {
    if (sample.labels.route !== undefined) assert.ok(routes.has(sample.labels.route), `route label ${sample.labels.route}`);
    if (sample.labels.method !== undefined) assert.ok((METHOD_LABELS as readonly string[]).includes(sample.labels.method));
    if (sample.labels.status !== undefined) assert.match(sample.labels.status, /^\d{3}$/);
  }
  // 3 categories × 8 methods × one status each, plus the metrics listener never counting.
  assert.equal(requests.length, 24);
  console.log(`series: ${lateSeries.size} portcullis_*, ${late.samples.length} in all, after ${TOTAL} requests`);
});
