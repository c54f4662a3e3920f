/**
 * A recording HTTPS upstream: answers every request with JSON describing what it received
 * (method, raw target, raw headers, body size and hash) and keeps the same record for the test to
 * read — the "upstream view" every test checks beside what the client got.
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { sharedCerts } from './certs.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  readonly headers: IncomingMessage['headers'];
  readonly bodyBytes: number;
  readonly bodySha256: string;
  readonly body: string;
}

/** A request head as it arrived, before its body (recorded even if the request is then aborted). */
export interface ArrivedRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
}

export interface RecordingUpstream {
  readonly port: number;
  readonly origin: string;
  readonly received: ReceivedRequest[];
  /** Every request head that arrived, complete or not: "the upstream received nothing" is `arrived.length === 0`. */
  readonly arrived: ArrivedRequest[];
  /** Upgrade requests that arrived (answered by closing the socket unless `handleUpgrade` is set). */
  readonly upgrades: ArrivedRequest[];
  /** Replace the default answer to upgrade requests. */
  handleUpgrade(handler: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined): void;
  /** Replace the default reflecting answer. */
  handle(handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined): void;
  close(): Promise<void>;
}

export async function startRecordingUpstream(options: { cert?: string; key?: string } = {}): Promise<RecordingUpstream> {
  const { leaf } = sharedCerts();
  const received: ReceivedRequest[] = [];
  const arrived: ArrivedRequest[] = [];
  const upgrades: ArrivedRequest[] = [];
  let custom: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let customUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  const server = https.createServer({ cert: options.cert ?? leaf.cert, key: options.key ?? leaf.key }, (req, res) => {
    arrived.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders });
    if (custom) {
      custom(req, res);
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const kept: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes <= 65_536) kept.push(chunk);
    });
    req.on('end', () => {
      const record: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        body: Buffer.concat(kept).toString('utf8'),
      };
      received.push(record);
      const payload = JSON.stringify(record);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'x-upstream': 'recording',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(payload);
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders });
    if (customUpgrade) customUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    received,
    arrived,
    upgrades,
    handle(handler) {
      custom = handler;
    },
    handleUpgrade(handler) {
      customUpgrade = handler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
