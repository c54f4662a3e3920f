/**
 * `portcullis demo`: the README's first command. Starts a sample HTTPS API on 127.0.0.1:9443 (the
 * port of config/demo.yaml's upstreams; certificates generated on first run), the gateway on config/demo.yaml — served over HTTPS too,
 * with a certificate from the same demo CA — creates demo tokens, and prints curl lines
 * (`curl --cacert .demo/ca.pem https://…`) that show a request passing and others being refused.
 */
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliIo, reportConfigProblems } from '../cli/run.js';
import { loadConfigFile } from '../config/index.js';
import { initStore } from '../credentials/index.js';
import { startFromFile } from '../main.js';
import { ensureDemoCerts } from './demo-certs.js';
import { startSampleUpstream } from './sample-upstream.js';
import { demoCredentialLines } from './demo-credentials.js';

/** The package root: dist/src/demo → three levels up. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `json`: print where everything listens as one JSON object on stdout, instead of the curl lines. */
export async function runDemo(json: boolean, io: CliIo): Promise<number | undefined> {
  const certs = ensureDemoCerts(join(PACKAGE_ROOT, '.demo'));
  const configFile = join(PACKAGE_ROOT, 'config', 'demo.yaml');
  const loaded = loadConfigFile(configFile);
  // The sample API listens where the demo's routes send requests: config/demo.yaml is the one
  // place to change a port that is taken.
  const upstream = await startSampleUpstream(
    certs.cert,
    certs.key,
    (loaded.ok ? loaded.config.routes[0]?.upstream.port : undefined) ?? 9443,
  );
  // `portcullis store init` for the user: start never creates a store (docs/credentials.md).
  if (loaded.ok) await initStore(loaded.config.store.url);
  let started: Awaited<ReturnType<typeof startFromFile>>;
  try {
    started = await startFromFile(configFile, (issues) => reportConfigProblems(io, json, 'demo', configFile, issues));
  } catch (error) {
    // A listener that cannot bind: the sample API must not keep the process running.
    upstream.close();
    throw error;
  }
  if (!started) {
    upstream.close();
    return 2;
  }
  const gw = `https://127.0.0.1:${started.gateway.proxyAddress.port}`;
  if (json) {
    io.out(
      JSON.stringify({
        gateway: gw,
        upstream: `https://127.0.0.1:${upstream.port}`,
        metrics: `http://127.0.0.1:${started.gateway.metricsAddress.port}`,
        config: configFile,
        ca: certs.caPath,
      }),
    );
    process.once('exit', () => upstream.close());
    return undefined;
  }
  // The CA file as the user can paste it from where they ran the command.
  const curl = `curl --cacert ${shellWord(displayPath(certs.caPath))}`;
  const credentialLines = await demoCredentialLines(configFile, gw, curl);
  io.err(
    [
      '',
      `Portcullis demo: gateway ${gw} → sample HTTPS API https://127.0.0.1:${upstream.port} (config/demo.yaml)`,
      `Both serve a certificate from the demo's own CA, ${certs.caPath}: curl trusts it through --cacert.`,
      '',
      '  # passes: auth: off route, forwarded to the HTTPS upstream',
      `  ${curl} -i ${gw}/public/hello`,
      '  # refused: 405 route.read_only (the public route is read-only)',
      `  ${curl} -i -X POST ${gw}/public/hello`,
      '  # refused: 401 auth.missing_credentials (the /api route requires a credential)',
      `  ${curl} -i ${gw}/api/hello`,
      '  # refused: 400 request.invalid_path (dot segments never reach a backend)',
      `  ${curl} -i --path-as-is ${gw}/public/../api/hello`,
      ...credentialLines,
      '',
      `  metrics: curl http://127.0.0.1:${started.gateway.metricsAddress.port}/metrics`,
      '  Ctrl-C stops the demo.',
      '',
    ].join('\n'),
  );
  process.once('exit', () => upstream.close());
  return undefined;
}

/** Relative to the working directory when the file is below it (`.demo/ca.pem`), else absolute. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** A word the shell reads back unchanged: quoted only when it holds anything but plain path characters. */
function shellWord(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
