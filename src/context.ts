/**
 * The per-request context: created once when a request arrives, filled by the stages in order.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from './types.js';

export function createContext(id: string, req: IncomingMessage, res: ServerResponse): RequestContext {
  return {
    id,
    startedAt: process.hrtime.bigint(),
    req,
    res,
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- Node.js types it as always there; it is null once the socket is detached
    socket: req.socket ?? null,
    path: '',
    search: '',
    route: undefined,
    principal: undefined,
    decision: 'ok',
    upstreamStartedAt: undefined,
    upstreamHeadersAt: undefined,
  };
}
