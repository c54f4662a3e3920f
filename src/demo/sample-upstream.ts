/**
 * The demo's sample HTTPS API: answers every request with a small JSON description of what it
 * received, so a newcomer sees exactly what Portcullis forwarded (identity headers included).
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export async function startSampleUpstream(cert: string, key: string, port: number): Promise<{ port: number; close(): void }> {
  const server = https.createServer({ cert, key }, (req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      const seen = Object.fromEntries(
        Object.entries(req.headers).filter(
          ([name]) => name.startsWith('x-portcullis-') || name.startsWith('x-forwarded-') || name === 'x-request-id',
        ),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        `${JSON.stringify({ upstream: 'sample-api', method: req.method, path: req.url, bodyBytes: bytes, headers: seen }, null, 2)}\n`,
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
