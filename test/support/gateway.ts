/**
 * Starts a real gateway in-process on ephemeral ports from YAML text, with `${UPSTREAM}` and
 * `${CA}` available for substitution, and stops it when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { loadConfigText } from '../../src/config/index.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observe/logger.js';
import { createServices, type ServiceBundle } from '../../src/services.js';
import type { Authenticate } from '../../src/types.js';
import { sharedCerts } from './certs.js';
import { initTestStore } from './init-store.js';

export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly config: GatewayConfig;
  readonly services: ServiceBundle;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
}

export function loadTestConfig(yaml: string, env: Record<string, string>, dir: string): GatewayConfig {
  const result = loadConfigText(yaml, join(dir, 'portcullis.yaml'), { ...env, CA: sharedCerts().ca.caCertPath });
  if (!result.ok) throw new Error(`test configuration invalid:\n${result.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n')}`);
  return result.config;
}

/** Wraps route YAML in a gateway config on ephemeral loopback ports with a temp store. */
export function gatewayYaml(routes: string, extra = ''): string {
  return `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: silent }
${extra}
routes:
${routes}`;
}

export interface TestGatewayOptions {
  /** Replaces the authenticate stage (see stub-auth.ts), for tests of the layers around it. */
  readonly authenticate?: Authenticate;
  /** Collects every log line (access and events), whatever `log.level` the YAML sets. */
  readonly logLines?: string[];
}

export async function startTestGateway(t: TestContext, yaml: string, env: Record<string, string> = {}, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-gw-'));
  const config = loadTestConfig(yaml, env, dir);
  const lines = options.logLines;
  const logger = lines === undefined ? createLogger(config.log.level) : createLogger('info', { destination: { write: (line: string) => void lines.push(line) } });
  await initTestStore(config);
  const services = await createServices(config, logger);
  const composed = options.authenticate !== undefined ? { ...services, authenticate: options.authenticate } : services;
  const gateway = await startGateway(config, composed, logger);
  t.after(async () => {
    await gateway.close(1_000);
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = gateway.proxyAddress.port;
  const scheme = config.tls ? 'https' : 'http';
  return { gateway, config, services, port, url: `${scheme}://127.0.0.1:${port}`, dir };
}
