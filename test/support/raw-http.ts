/**
 * A byte-level HTTP/1.x client for framing tests: bytes go to a socket exactly as
 * written, and responses are parsed incrementally from what comes back, so a test can tell a
 * `100 Continue` from a final answer, count pipelined responses, and see when the server closes.
 *
 * Unlike `sendRaw` (idle-timeout based), `exchange` waits for complete responses or the close of
 * the connection, so it does not depend on the machine's speed.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RawResponse {
  readonly statusLine: string;
  readonly version: string;
  readonly status: number;
  readonly statusText: string;
  /** Header lines in order, names as sent. */
  readonly headerList: readonly (readonly [string, string])[];
  /** Last value of each header, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  all(name: string): string[];
  text(): string;
  json<T = Record<string, unknown>>(): T;
}

export interface RawConnectOptions {
  /** Connect with TLS, trusting this CA. */
  readonly tlsCa?: string;
}

interface ParsedHead {
  readonly end: number;
  readonly response: Omit<RawResponse, 'body' | 'text' | 'json'>;
}

function parseHead(buffer: Buffer, from: number): ParsedHead | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n', from, 'latin1');
  if (headEnd === -1) return undefined;
  const lines = buffer.toString('latin1', from, headEnd).split('\r\n');
  const statusLine = lines[0] ?? '';
  const match = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  const headerList: [string, string][] = [];
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    headerList.push([name, value]);
    headers[name.toLowerCase()] = value;
  }
  return {
    end: headEnd + 4,
    response: {
      statusLine,
      version: match?.[1] ?? '',
      status: Number(match?.[2] ?? 0),
      statusText: match?.[3] ?? '',
      headerList,
      headers,
      all: (name: string) => headerList.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v),
    },
  };
}

/** Returns the decoded body and where the message ends, or undefined when more bytes are needed. */
function parseChunked(buffer: Buffer, from: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at, 'latin1');
    if (lineEnd === -1) return undefined;
    const size = parseInt(buffer.toString('latin1', at, lineEnd).split(';')[0] ?? '', 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line at ${at}`);
    if (size === 0) {
      // Trailers end with an empty line.
      const trailersEnd = buffer.indexOf('\r\n\r\n', lineEnd, 'latin1');
      if (trailersEnd === -1) return undefined;
      return { body: Buffer.concat(parts), end: trailersEnd + 4 };
    }
    if (buffer.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

function complete(head: ParsedHead['response'], body: Buffer): RawResponse {
  return { ...head, body, text: () => body.toString('utf8'), json: <T>() => JSON.parse(body.toString('utf8')) as T };
}

/** One client connection, read as a sequence of responses. */
export class RawConnection {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private cursor = 0;
  private ended = false;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      const done = (): void => {
        this.ended = true;
        this.wake();
        resolve();
      };
      socket.once('end', done);
      socket.once('close', done);
    });
    socket.on('error', () => {});
  }

  static open(port: number, options: RawConnectOptions = {}): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket =
        options.tlsCa !== undefined
          ? tls.connect({ port, host: '127.0.0.1', ca: options.tlsCa, servername: 'localhost' }, () => resolve(new RawConnection(socket)))
          : net.connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Every byte received so far, as latin1 text. */
  get received(): string {
    return this.buffer.toString('latin1');
  }

  /** Bytes received after the last response read with `next`. */
  get unread(): number {
    return this.buffer.length - this.cursor;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) {
        resolve();
        return;
      }
      this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, () => resolve());
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private tryParse(method: string): RawResponse | undefined {
    const head = parseHead(this.buffer, this.cursor);
    if (head === undefined) return undefined;
    const { response } = head;
    const noBody =
      method === 'HEAD' || (response.status >= 100 && response.status < 200) || response.status === 204 || response.status === 304;
    if (noBody) {
      this.cursor = head.end;
      return complete(response, Buffer.alloc(0));
    }
    if (response.headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const chunked = parseChunked(this.buffer, head.end);
      if (chunked === undefined) return undefined;
      this.cursor = chunked.end;
      return complete(response, chunked.body);
    }
    const length = response.headers['content-length'];
    if (length !== undefined) {
      const end = head.end + Number(length);
      if (this.buffer.length < end) return undefined;
      this.cursor = end;
      return complete(response, this.buffer.subarray(head.end, end));
    }
    // Read until the server closes.
    if (!this.ended) return undefined;
    this.cursor = this.buffer.length;
    return complete(response, this.buffer.subarray(head.end));
  }

  /**
   * The next response (interim 1xx responses included), or undefined when the connection closes
   * first or `timeoutMs` passes. `method` tells whether the response has a body (HEAD).
   */
  async next(options: { method?: string; timeoutMs?: number } = {}): Promise<RawResponse | undefined> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = this.tryParse(options.method ?? 'GET');
      if (parsed !== undefined) return parsed;
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next final (non-1xx) response; the interim ones are returned alongside. */
  async nextFinal(
    options: { method?: string; timeoutMs?: number } = {},
  ): Promise<{ interim: RawResponse[]; response: RawResponse | undefined }> {
    const interim: RawResponse[] = [];
    for (;;) {
      const response = await this.next(options);
      if (response === undefined || response.status >= 200 || response.status === 101) return { interim, response };
      interim.push(response);
    }
  }

  /** Resolves true when the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    if (this.ended) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface Exchanged {
  readonly responses: RawResponse[];
  /** Interim (1xx) responses seen before the final ones. */
  readonly interim: RawResponse[];
  /** Whether the server had closed the connection by the end of the exchange. */
  readonly closed: boolean;
  /** Everything received, as latin1 text. */
  readonly raw: string;
  /** Bytes that followed the expected responses (a smuggled extra answer would show here). */
  readonly extraBytes: number;
}

/**
 * Writes `bytes`, reads up to `responses` final responses (stopping early when the server
 * closes), then waits `settleMs` for anything more.
 */
export async function exchange(
  port: number,
  bytes: string | Buffer,
  options: { responses?: number; method?: string; settleMs?: number; timeoutMs?: number; tlsCa?: string } = {},
): Promise<Exchanged> {
  const connection = await RawConnection.open(port, options.tlsCa !== undefined ? { tlsCa: options.tlsCa } : {});
  try {
    await connection.write(bytes);
    const responses: RawResponse[] = [];
    const interim: RawResponse[] = [];
    const wanted = options.responses ?? 1;
    const readOptions = { timeoutMs: options.timeoutMs ?? 10_000, ...(options.method !== undefined ? { method: options.method } : {}) };
    while (responses.length < wanted) {
      const { interim: more, response } = await connection.nextFinal(readOptions);
      interim.push(...more);
      if (response === undefined) break;
      responses.push(response);
    }
    if (!connection.isClosed && (options.settleMs ?? 50) > 0) await connection.waitClosed(options.settleMs ?? 50);
    return { responses, interim, closed: connection.isClosed, raw: connection.received, extraBytes: connection.unread };
  } finally {
    connection.destroy();
  }
}

/** `"a\\r\\nb"`-free helper: joins header lines with CRLF and ends the head. */
export function head(requestLine: string, ...headerLines: string[]): string {
  return [requestLine, ...headerLines].join('\r\n') + '\r\n\r\n';
}
