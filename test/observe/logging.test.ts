/**
 * docs/logging.md against the code: the access-line fields table equals the fields the gateway
 * writes; the logger masks credential-carrying keys should an object with them ever be logged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../../src/config/repo-root.js';
import { createLogger } from '../../src/observe/logger.js';
import { ACCESS_LINE_KEYS } from './fixtures.js';
import { createLogCollector } from './harness.js';

const ROOT = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const DOC = readFileSync(join(ROOT, 'docs', 'logging.md'), 'utf8');

/** Field names of the `| field | type | meaning |` table. */
function accessFields(markdown: string): string[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => /^\| field \| type \| meaning \|$/.test(line));
  assert.ok(header !== -1, 'the access-line fields table exists');
  const out: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const name = /^\| `([A-Za-z]+)` \|/.exec(line)?.[1];
    assert.ok(name, `field cell: ${line}`);
    out.push(name);
  }
  return out;
}

test('docs/logging.md lists exactly the fields of an access-log line', () => {
  assert.deepEqual([...accessFields(DOC)].sort(), ACCESS_LINE_KEYS);
});

test('the logger masks authorization, cookie and proxy-authorization keys wherever a header object lands', () => {
  const log = createLogCollector();
  const logger = createLogger('info', { destination: log });
  logger.info({
    authorization: 'Bearer A1',
    cookie: 'C1',
    'proxy-authorization': 'P1',
    'set-cookie': 'S1',
    headers: { authorization: 'Bearer A2', cookie: 'C2', 'proxy-authorization': 'P2', 'set-cookie': ['S2'] },
    req: { headers: { authorization: 'Bearer A3', cookie: 'C3', 'proxy-authorization': 'P3', 'set-cookie': 'S3' } },
  });
  const raw = log.raw.join('');
  for (const value of ['A1', 'C1', 'P1', 'S1', 'A2', 'C2', 'P2', 'S2', 'A3', 'C3', 'P3', 'S3']) assert.ok(!raw.includes(value), value);
  assert.equal(raw.match(/\[redacted\]/g)?.length, 12);
});

test('log.level is applied: below the level nothing is written', () => {
  const log = createLogCollector();
  const logger = createLogger('warn', { destination: log });
  logger.info({ event: 'x' }, 'hidden');
  logger.warn({ event: 'y' }, 'shown');
  assert.deepEqual(
    log.lines().map((line) => line.event),
    ['y'],
  );
});
