/**
 * The `scope` parameter of a token request (RFC 6749 §3.3) and the scopes access tokens carry.
 *
 * Scope values are Portcullis' own scopes, ordered read-only < read-write < admin. A request may
 * only narrow the client's scope: every value it names must be at most the client's scope, and
 * the token gets the widest value named. Without `scope` the token gets the client's scope (an
 * `admin` client therefore gets `admin` unless it asks for less).
 */
import { isScope, narrowerScope, type Scope } from '../credentials/index.js';
import { OAuthError } from './responses.js';

/** RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Whether `a` grants no more than `b`. */
export function isWithin(a: Scope, b: Scope): boolean {
  return narrowerScope(a, b) === a;
}

/**
 * The scope to grant for a request's `scope` value (undefined when omitted). Throws
 * `invalid_scope` for a malformed, unknown or too wide value; the value is never echoed.
 */
export function grantedScope(requested: string | undefined, clientScope: Scope): Scope {
  if (requested === undefined) return clientScope;
  const values = requested.split(' ');
  let widest: Scope | undefined;
  for (const value of values) {
    if (!SCOPE_TOKEN.test(value)) throw new OAuthError('invalid_scope', 'The scope is malformed: values are separated by one space.');
    if (!isScope(value)) throw new OAuthError('invalid_scope', 'Scope values are read-only, read-write and admin.');
    if (!isWithin(value, clientScope)) throw new OAuthError('invalid_scope', "The requested scope exceeds the client's scope.");
    widest = widest === undefined || isWithin(widest, value) ? value : widest;
  }
  return widest ?? clientScope;
}
