/**
 * The client view of a response Portcullis produced itself (docs/errors.md): problem+json with a
 * stable code, the documented status and title, and the request id in body and header.
 */
import assert from 'node:assert/strict';
import { ERROR_CODES, type ErrorCode, type ProblemBody } from '../../src/errors.js';

export interface ProblemLike {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text. */
  readonly bodyText: string;
}

/** The body the gateway answers with (src/errors.ts). */
export type Problem = ProblemBody;

/** Asserts a well-formed problem+json answer with `code`, and returns its body. */
export function assertProblem(answer: ProblemLike, code: ErrorCode, message = ''): Problem {
  const where = message ? ` (${message})` : '';
  const entry = ERROR_CODES[code];
  assert.equal(answer.status, entry.status, `status for ${code}${where}: body ${answer.bodyText.slice(0, 300)}`);
  assert.equal(answer.headers['content-type'], 'application/problem+json', `content-type${where}`);
  let body: Problem;
  try {
    body = JSON.parse(answer.bodyText) as Problem;
  } catch {
    assert.fail(`problem body is not JSON${where}: ${JSON.stringify(answer.bodyText.slice(0, 200))}`);
  }
  assert.equal(body.code, code, `code${where}`);
  assert.equal(body.status, entry.status, `body status${where}`);
  assert.equal(body.title, entry.title, `title${where}`);
  assert.equal(body.type, `urn:portcullis:error:${code}`, `type${where}`);
  assert.equal(typeof body.requestId, 'string', `requestId${where}`);
  assert.ok(body.requestId.length > 0, `requestId non-empty${where}`);
  assert.equal(answer.headers['x-request-id'], body.requestId, `X-Request-Id header equals body requestId${where}`);
  assert.equal(answer.headers['cache-control'], 'no-store', `cache-control${where}`);
  assertNotADocument(answer.headers, where);
  return body;
}

/**
 * An answer Portcullis wrote itself must never be sniffed into HTML, run as a document or framed
 * (src/listen/own-answer-headers.ts; the admin listener's wider set satisfies this too).
 */
export function assertNotADocument(headers: Readonly<Record<string, string | string[] | undefined>>, where = ''): void {
  assert.equal(headers['x-content-type-options'], 'nosniff', `x-content-type-options${where}`);
  const csp = String(headers['content-security-policy']);
  assert.match(csp, /(^|; )default-src 'none'(;|$)/, `content-security-policy${where}`);
  assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, `content-security-policy${where}`);
}

/** Adapts a `send` answer. */
export function fromAnswer(answer: { status: number; headers: Record<string, string | string[] | undefined>; body: string }): ProblemLike {
  return { status: answer.status, headers: answer.headers, bodyText: answer.body };
}

/** Adapts a raw response. */
export function fromRaw(response: { status: number; headers: Readonly<Record<string, string>>; text(): string }): ProblemLike {
  return { status: response.status, headers: response.headers, bodyText: response.text() };
}
