/**
 * The published JSON Schema of the configuration file (docs/configuration.md), generated from
 * `configSchema` so the two cannot drift. `npm run schema` (this file run as a script) writes
 * docs/portcullis.schema.json; a test fails when the checked-in file is stale.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { findRepoRoot } from './repo-root.js';
import { configSchema } from './schema.js';

/** `$id` of the published schema. */
export const SCHEMA_ID = 'urn:portcullis:config:v1';

/** Where the schema is checked in, relative to the repository root. */
export const SCHEMA_FILE = 'docs/portcullis.schema.json';

/** The JSON Schema (draft 2020-12) of the file as written: defaulted keys are optional. */
export function buildJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, unknown>;
  return { $schema, $id: SCHEMA_ID, title: 'Portcullis configuration', ...rest };
}

/** The schema file's exact text: 2-space JSON with a trailing newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}

const invokedAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invokedAsScript) {
  const target = path.join(findRepoRoot(path.dirname(fileURLToPath(import.meta.url))), SCHEMA_FILE);
  writeFileSync(target, renderJsonSchema());
  process.stdout.write(`wrote ${target}\n`);
}
