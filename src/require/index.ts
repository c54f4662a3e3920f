/**
 * The require stage (seed 004): a route's `require.headers` and `require.query` must be present
 * and non-empty. Every missing item is named in one answer.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { RoutePolicy } from '../types.js';

/**
 * Whether one of the request's `name` headers (lower case) has a non-empty value. Read from the
 * raw list: Node joins duplicates, so two empty headers would read as ", " in `req.headers`.
 */
function hasValue(req: IncomingMessage, name: string): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i] as string;
    if (header.length === name.length && header.toLowerCase() === name && (raw[i + 1] as string).trim() !== '') return true;
  }
  return false;
}

export function checkRequired(route: RoutePolicy, req: IncomingMessage, search: string): void {
  if (route.requiredHeaders.length > 0) {
    const missing = route.requiredHeaders.filter((name) => !hasValue(req, name));
    if (missing.length > 0) {
      throw new GatewayError('request.missing_header', `Missing required header${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.`);
    }
  }
  if (route.requiredQuery.length > 0) {
    const params = new URLSearchParams(search);
    const missing = route.requiredQuery.filter((name) => params.getAll(name).every((v) => v === ''));
    if (missing.length > 0) {
      throw new GatewayError('request.missing_query_param', `Missing required query parameter${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.`);
    }
  }
}
