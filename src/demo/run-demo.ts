/**
 * `portcullis demo`: the README's first command. Starts a sample HTTPS API on 127.0.0.1:9443
 * (certificates generated on first run), the gateway on config/demo.yaml, creates a demo token,
 * and prints curl lines that show a request passing and others being refused.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliIo, reportConfigProblems } from '../cli/run.js';
import { startFromFile } from '../main.js';
import { ensureDemoCerts } from './demo-certs.js';
import { startSampleUpstream } from './sample-upstream.js';
import { demoCredentialLines } from './demo-credentials.js';

/** The package root: dist/src/demo → three levels up. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `json`: print where everything listens as one JSON object on stdout, instead of the curl lines. */
export async function runDemo(json: boolean, io: CliIo): Promise<number | undefined> {
  const certs = ensureDemoCerts(join(PACKAGE_ROOT, '.demo'));
  const upstream = await startSampleUpstream(certs.cert, certs.key, 9443);
  const configFile = join(PACKAGE_ROOT, 'config', 'demo.yaml');
  const started = await startFromFile(configFile, (issues) => reportConfigProblems(io, json, 'demo', configFile, issues));
  if (!started) {
    upstream.close();
    return 2;
  }
  const gw = `http://127.0.0.1:${started.gateway.proxyAddress.port}`;
  if (json) {
    io.out(JSON.stringify({ gateway: gw, upstream: `https://127.0.0.1:${upstream.port}`, metrics: `http://127.0.0.1:${started.gateway.metricsAddress.port}`, config: configFile }));
    process.once('exit', () => upstream.close());
    return undefined;
  }
  const credentialLines = await demoCredentialLines(configFile, gw);
  io.err(
    [
      '',
      `Portcullis demo: gateway ${gw} → sample HTTPS API https://127.0.0.1:${upstream.port} (config/demo.yaml)`,
      '',
      '  # passes: auth: off route, forwarded to the HTTPS upstream',
      `  curl -i ${gw}/public/hello`,
      '  # refused: 405 route.read_only (the public route is read-only)',
      `  curl -i -X POST ${gw}/public/hello`,
      '  # refused: 401 auth.missing_credentials (the /api route requires a credential)',
      `  curl -i ${gw}/api/hello`,
      '  # refused: 400 request.invalid_path (dot segments never reach a backend)',
      `  curl -i --path-as-is ${gw}/public/../api/hello`,
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
