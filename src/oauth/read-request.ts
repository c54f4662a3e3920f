/**
 * Reads a POST to one of the OAuth endpoints (token, introspection, revocation) into its form
 * parameters and its Authorization header, refusing with `invalid_request` whatever two readers
 * could understand differently: a query string (RFC 6749 §2.3.1 forbids credentials in the URI),
 * a missing, repeated or foreign Content-Type, a body over 16 KiB, a malformed form, repeated
 * parameters, several Authorization headers. A body that takes longer than `limits.bodyReadTimeout`
 * to arrive is answered 408 `request.timeout` (a problem, as for a broken connection).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAuthorizationValue, type ParsedAuthorization } from '../authenticate/parse-authorization.js';
import { GatewayError } from '../errors.js';
import { expectsContinue } from '../listen/framing-guard.js';
import { readBody } from '../listen/read-body.js';
import { FormError, isFormUrlencoded, MAX_FORM_BYTES, parseForm } from './form.js';
import { OAuthError } from './responses.js';

/** What the Authorization header of an OAuth request holds. */
export type OAuthAuthorization = ParsedAuthorization | { readonly kind: 'malformed' };

/** A validated OAuth POST. */
export interface OAuthPost {
  readonly params: ReadonlyMap<string, string>;
  readonly authorization: OAuthAuthorization;
}

/** Values of every header named `name` (lower case), from the raw header list. */
function headerValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.length === name.length && raw[i]?.toLowerCase() === name) values.push(raw[i + 1] ?? '');
  }
  return values;
}

function readAuthorization(req: IncomingMessage): OAuthAuthorization {
  const values = headerValues(req, 'authorization');
  if (values.length > 1) throw new OAuthError('invalid_request', 'Several Authorization headers were sent.');
  const [value] = values;
  if (value === undefined) return { kind: 'none' };
  try {
    return parseAuthorizationValue(value);
  } catch {
    return { kind: 'malformed' };
  }
}

/** Reads and checks the request; throws OAuthError (or GatewayError for a broken connection). */
/** `timeoutMs`: how long the body may take to arrive (then GatewayError `request.timeout`). */
export async function readOAuthPost(req: IncomingMessage, res: ServerResponse, timeoutMs: number): Promise<OAuthPost> {
  if ((req.url ?? '').includes('?')) {
    throw new OAuthError('invalid_request', 'Parameters must be sent in the request body, not in the URI.');
  }
  const contentTypes = headerValues(req, 'content-type');
  if (contentTypes.length !== 1) {
    throw new OAuthError(
      'invalid_request',
      contentTypes.length === 0 ? 'The Content-Type must be application/x-www-form-urlencoded.' : 'Several Content-Type headers were sent.',
    );
  }
  let form: boolean;
  try {
    form = isFormUrlencoded(contentTypes[0] ?? '');
  } catch (error) {
    throw new OAuthError('invalid_request', error instanceof FormError ? error.message : 'The Content-Type is not valid.');
  }
  if (!form) throw new OAuthError('invalid_request', 'The Content-Type must be application/x-www-form-urlencoded.');
  const authorization = readAuthorization(req);
  // The client waits for this before uploading; refused requests never make it upload.
  if (expectsContinue(req)) res.writeContinue();
  let body: Buffer;
  try {
    body = await readBody(req, MAX_FORM_BYTES, timeoutMs);
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'request.body_too_large') {
      throw new OAuthError('invalid_request', `The body is limited to ${MAX_FORM_BYTES} bytes.`);
    }
    throw error;
  }
  try {
    return { params: parseForm(body), authorization };
  } catch (error) {
    throw new OAuthError('invalid_request', error instanceof FormError ? error.message : 'The form cannot be read.');
  }
}
