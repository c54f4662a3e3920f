// Minimal forwarder on http-proxy-3: plain HTTP in, HTTPS to the upstream
// through one keep-alive https.Agent that trusts the bench CA.
// Usage: node http-proxy-forwarder.mjs [port]   (or PORT=...)
// Env:   UPSTREAM_URL (https://127.0.0.1:PORT), BENCH_CA (CA PEM path)
// Prints "ready <port>" on stdout once listening on 127.0.0.1.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createProxyServer } from 'http-proxy-3';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const target = process.env.UPSTREAM_URL;
if (!target || !process.env.BENCH_CA) {
  process.stderr.write('http-proxy-forwarder: UPSTREAM_URL and BENCH_CA are required\n');
  process.exit(2);
}
const ca = readFileSync(process.env.BENCH_CA);

const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 256, maxFreeSockets: 256 });
const proxy = createProxyServer({ target, agent, secure: true, changeOrigin: true });
proxy.on('error', (_err, _req, res) => {
  // res is a ServerResponse for web requests (a Socket for upgrades).
  if (res && typeof res.writeHead === 'function' && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway\n');
  } else {
    res?.destroy?.();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
