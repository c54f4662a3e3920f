/**
 * The smuggling guard: refuses, with 400 request.malformed, request heads that two HTTP parsers
 * could frame or route differently. Node's parser (llhttp) already refuses Content-Length with
 * Transfer-Encoding, duplicated Content-Length, bare CR/LF and obs-fold (those arrive through
 * `clientError`, see `client-error.ts`); this guard covers what llhttp lets through, reading the
 * raw header list so duplicates cannot hide behind Node's header merging.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/**
 * Methods on which a chunked body is refused: http-proxy sets `content-length: 0` on DELETE and
 * OPTIONS without one and forwards `transfer-encoding: chunked` too (the desync noted in
 * STYLE.md gotcha 1); GET, HEAD and TRACE bodies are ignored by many servers, which then read
 * the body as the next request.
 */
const NO_CHUNKED_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Headers some frameworks read as the method; on a read request they would turn it into a write. */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

const HOST_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)(?::\d{1,5})?$/;

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function malformed(detail: string): GatewayError {
  return new GatewayError('request.malformed', detail);
}

/**
 * Checks the request head and returns the lower-cased host name (without port or trailing dot)
 * used for routing.
 */
export function guardFraming(req: IncomingMessage): string {
  const raw = req.rawHeaders;
  let hostCount = 0;
  let transferEncodingCount = 0;
  let contentLengthCount = 0;
  let overrideOnRead = false;
  const method = req.method ?? '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Cheap first-letter filter: most headers need no further look.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hostCount++;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') contentLengthCount++;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') transferEncodingCount++;
        break;
      default:
        if (name.length >= 12 && READ_METHODS.has(method)) {
          const lower = name.toLowerCase();
          if ((METHOD_OVERRIDE_HEADERS as readonly string[]).includes(lower)) overrideOnRead = true;
        }
    }
  }
  if (hostCount !== 1) {
    throw malformed(hostCount === 0 ? 'The Host header is required.' : 'Several Host headers were sent.');
  }
  if (transferEncodingCount > 0) {
    if (transferEncodingCount > 1) throw malformed('Several Transfer-Encoding headers were sent.');
    if (contentLengthCount > 0) throw malformed('Content-Length and Transfer-Encoding were both sent.');
    const te = req.headers['transfer-encoding'];
    if (typeof te !== 'string' || te.trim().toLowerCase() !== 'chunked') {
      throw malformed('Only "Transfer-Encoding: chunked" is accepted.');
    }
    if (req.httpVersionMinor === 0 && req.httpVersionMajor === 1) {
      throw malformed('Transfer-Encoding is not defined for HTTP/1.0 (RFC 9112 §6.1).');
    }
    if (NO_CHUNKED_BODY.has(method)) throw malformed(`A chunked body is not accepted on ${method}.`);
  }
  if (contentLengthCount > 1) throw malformed('Several Content-Length headers were sent.');
  if (overrideOnRead) throw malformed('A method-override header is not accepted on a read request.');
  const host = req.headers.host ?? '';
  if (!HOST_PATTERN.test(host)) throw malformed('The Host header is not a valid host name.');
  return routingHost(host);
}

/** `API.Example.com.:8443` → `api.example.com`. */
function routingHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    end = host.indexOf(']') + 1;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (host.charCodeAt(end - 1) === 0x2e /* . */) end--;
  return host.slice(0, end).toLowerCase();
}
