/**
 * `GET /.well-known/jwks.json` (RFC 7517 §5): the public keys that verify Portcullis access
 * tokens — the active key and retired keys still inside their verification window — with their
 * `kid`, `alg` and `use: "sig"`. Never a private part (the ring only holds public JWKs for it).
 *
 * `Cache-Control: public, max-age=300`: a remote verifier re-reads the set at least every five
 * minutes, and one that meets an unknown `kid` (right after `portcullis keys rotate`) should
 * refetch at once, as jose's createRemoteJWKSet does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OWN_ANSWER_HEADERS } from '../listen/own-answer-headers.js';
import type { KeyRing } from './signing-keys.js';

/** max-age of the JWKS answer, in seconds. */
export const JWKS_MAX_AGE_SECONDS = 300;

/** Answers a GET or HEAD of the JWKS. */
export function sendJwks(req: IncomingMessage, res: ServerResponse, keys: KeyRing, requestId: string): void {
  const body = JSON.stringify({ keys: keys.publicKeys() });
  res.writeHead(200, {
    'content-type': 'application/jwk-set+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
    'x-request-id': requestId,
    ...OWN_ANSWER_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
