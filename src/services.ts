/**
 * Builds the services the gateway composes around the request path: authentication, metrics,
 * readiness, the admin API. Each capability plugs in here without touching the pipeline.
 */
import { createClosedAuthenticator } from './authenticate/index.js';
import type { GatewayConfig } from './config/types.js';
import type { GatewayServices } from './gateway.js';
import type { Logger } from './observe/logger.js';

export interface ServiceBundle extends GatewayServices {
  /** Applies a reloaded configuration to the services that depend on it. */
  reload?(config: GatewayConfig): void;
  recordReload?(result: 'success' | 'failure'): void;
  close(): Promise<void>;
}

export async function createServices(_config: GatewayConfig, _logger: Logger): Promise<ServiceBundle> {
  return {
    authenticate: createClosedAuthenticator(),
    async close() {},
  };
}
