/**
 * A WebSocket upstream over TLS (wss): the `ws` package's server on an HTTPS server signed by the
 * test CA. It echoes every message and records each upgrade request as it arrived.
 */
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { sharedCerts, type TestCert } from './certs.js';

export interface UpgradeSeen {
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly headers: IncomingMessage['headers'];
}

export interface WsUpstream {
  readonly port: number;
  readonly origin: string;
  /** Every upgrade request that reached the server (accepted or not). */
  readonly upgrades: UpgradeSeen[];
  /** Plain (non-upgrade) requests that reached the server. */
  readonly requests: number;
  close(): Promise<void>;
}

/** `certificate`: the server's (default: the shared localhost/127.0.0.1 one). */
export async function startWsUpstream(certificate: TestCert = sharedCerts().leaf): Promise<WsUpstream> {
  const leaf = certificate;
  const upgrades: UpgradeSeen[] = [];
  let requests = 0;
  const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => {
    requests++;
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('upgrade required');
  });
  server.on('upgrade', (req: IncomingMessage) => {
    upgrades.push({ url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    upgrades,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
