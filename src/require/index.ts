/**
 * The require stage (seed 004): a route's `require.headers` and `require.query` must be present
 * and non-empty. Every missing item is named in one answer.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { RoutePolicy } from '../types.js';

export function checkRequired(route: RoutePolicy, req: IncomingMessage, search: string): void {
  if (route.requiredHeaders.length > 0) {
    const missing = route.requiredHeaders.filter((name) => {
      const value = req.headers[name];
      return value === undefined || (Array.isArray(value) ? value.every((v) => v.trim() === '') : value.trim() === '');
    });
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
