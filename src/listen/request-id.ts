/**
 * Request ids: a client's `X-Request-Id` is kept when it is a single value of sane form (so a
 * trace spans the client, Portcullis and the upstream); otherwise a new UUID is generated.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
}

export function newRequestId(): string {
  return randomUUID();
}
