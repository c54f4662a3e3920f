/**
 * No lenient HTTP parsing, ever (docs/request-path.md "Framing"). Node's `--insecure-http-parser`
 * (on the command line or in NODE_OPTIONS) makes every server that does not say otherwise accept
 * obs-folded headers, bare CR and other framing that a backend may read another way: request
 * smuggling. Every listener sets `insecureHTTPParser: false`, and the gateway refuses to start when
 * the process has the flag on, so the mistake is seen at once instead of being silently overridden.
 */

import { splitNodeOptions } from '../node-options.js';

/** Server options every listener of Portcullis starts with. */
export const STRICT_PARSER = { insecureHTTPParser: false } as const;

const FLAG = '--insecure-http-parser';

/** Whether a list of Node options turns lenient parsing on (the last spelling wins, as in Node). */
function turnsOn(options: readonly string[]): boolean | undefined {
  let on: boolean | undefined;
  for (const option of options) {
    if (option === FLAG || option === `${FLAG}=true`) on = true;
    else if (option === `--no-${FLAG.slice(2)}` || option === `${FLAG}=false`) on = false;
  }
  return on;
}

/**
 * Where the process turned lenient parsing on (`process.execArgv` or `NODE_OPTIONS`), or
 * undefined. The command line is read after NODE_OPTIONS, so it wins, as in Node.
 */
export function lenientParserSource(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const fromEnv = turnsOn(splitNodeOptions(nodeOptions));
  const fromArgv = turnsOn(execArgv);
  if (fromArgv === true) return 'the node command line';
  if (fromArgv === undefined && fromEnv === true) return 'NODE_OPTIONS';
  return undefined;
}

/** Throws, with the message the operator sees, when this process parses HTTP leniently. */
export function assertStrictParser(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): void {
  const source = lenientParserSource(execArgv, nodeOptions);
  if (source === undefined) return;
  throw new Error(
    `refusing to start: Node.js runs with ${FLAG} (from ${source}), which accepts malformed HTTP that a backend may read ` +
      `another way (request smuggling). Remove ${FLAG} and start again.`,
  );
}
