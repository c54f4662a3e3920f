/** docs/portcullis.schema.json is generated from the zod schema and must not go stale. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildJsonSchema, renderJsonSchema, SCHEMA_FILE, SCHEMA_ID } from '../../src/config/emit-json-schema.js';
import { REPO_ROOT } from './helpers.js';

test('the checked-in JSON Schema matches the zod schema (run `npm run build && npm run schema` if not)', () => {
  const checkedIn = readFileSync(path.join(REPO_ROOT, SCHEMA_FILE), 'utf8');
  assert.ok(checkedIn === renderJsonSchema(), `${SCHEMA_FILE} is stale: run \`npm run build && npm run schema\` and commit the result`);
});

test('the JSON Schema describes the file as written', () => {
  const schema = buildJsonSchema();
  assert.equal(schema.$id, SCHEMA_ID);
  assert.equal(schema.title, 'Portcullis configuration');
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['routes']);
  const properties = schema.properties as Record<string, { default?: unknown }>;
  assert.equal(properties.listen?.default, '0.0.0.0:8443');
  assert.ok(renderJsonSchema().endsWith('}\n'));
});
