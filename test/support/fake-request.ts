/**
 * A stand-in for the parts of `IncomingMessage` the listen, require and header stages read, for
 * unit tests: raw header list (as Node keeps it), the derived `headers` object, method, version.
 */
import type { IncomingMessage } from 'node:http';

/** Node's joining rules for duplicates, enough for these stages. */
const SINGLE = new Set(['host', 'content-length', 'content-type', 'authorization', 'user-agent', 'referer', 'expect']);

export function fakeRequest(options: {
  method?: string;
  url?: string;
  version?: '1.0' | '1.1' | '2.0';
  headers?: readonly (readonly [string, string])[];
  remoteAddress?: string;
  complete?: boolean;
}): IncomingMessage {
  const rawHeaders: string[] = [];
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of options.headers ?? []) {
    rawHeaders.push(name, value);
    const lower = name.toLowerCase();
    const existing = headers[lower];
    if (existing === undefined) headers[lower] = lower === 'set-cookie' ? [value] : value;
    else if (SINGLE.has(lower)) continue;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[lower] = `${existing}, ${value}`;
  }
  const [major = 1, minor = 1] = (options.version ?? '1.1').split('.').map(Number);
  return {
    method: options.method ?? 'GET',
    url: options.url ?? '/',
    httpVersion: options.version ?? '1.1',
    httpVersionMajor: major,
    httpVersionMinor: minor,
    rawHeaders,
    headers,
    complete: options.complete ?? true,
    socket: { remoteAddress: options.remoteAddress ?? '127.0.0.1' },
  } as unknown as IncomingMessage;
}
