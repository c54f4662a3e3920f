/**
 * The metrics listener's own endpoints: `/healthz` (liveness: the process answers) and `/readyz`
 * (readiness: configuration loaded, the store answers, not shutting down). Everything else goes to
 * the metrics handler. docs/metrics.md describes both answers.
 */
import type http from 'node:http';
import { requestIdOf } from '../listen/request-id.js';
import { OWN_ANSWER_HEADERS } from '../listen/own-answer-headers.js';

export interface HealthEndpointOptions {
  /** Readiness beyond "configuration loaded": a reason when not ready (e.g. the store does not answer). */
  readonly readiness?: (() => Promise<string | undefined>) | undefined;
  /** True from the first step of a shutdown on: /readyz answers 503 so the load balancer stops sending. */
  readonly shuttingDown: () => boolean;
  /** Every other request on the listener (/metrics); 404 when undefined. */
  readonly next?: http.RequestListener | undefined;
}

const HEALTH_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', ...OWN_ANSWER_HEADERS } as const;

/**
 * The request listener of the metrics listener. A throw in it (a readiness check that throws
 * instead of rejecting) must not become an unhandled rejection, which would stop the process:
 * the connection is dropped instead.
 */
export function createHealthEndpoints(options: HealthEndpointOptions): http.RequestListener {
  const { readiness, shuttingDown, next } = options;
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    res.setHeader('x-request-id', requestIdOf(req));
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, HEALTH_HEADERS);
      res.end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const problem = shuttingDown() ? 'shutting down' : readiness ? await readiness().catch(() => 'readiness check failed') : undefined;
      res.writeHead(problem ? 503 : 200, HEALTH_HEADERS);
      res.end(JSON.stringify(problem ? { status: 'unavailable', reason: problem } : { status: 'ready' }));
      return;
    }
    if (next) {
      next(req, res);
      return;
    }
    res.writeHead(404, HEALTH_HEADERS);
    res.end('{"status":404}');
  };
  return (req, res) => void answer(req, res).catch(() => res.destroy());
}
