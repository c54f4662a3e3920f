/**
 * The methods this runtime's HTTP parser accepts. `http.METHODS` is not that list: Node 20.19.2
 * lists QUERY there while its llhttp refuses a `QUERY` request line (400 before any handler), and
 * later releases accept it. Found by asking a plain Node server, one raw request line each.
 */
import http, { METHODS } from 'node:http';
import net, { type AddressInfo } from 'node:net';

export async function methodsTheParserAccepts(): Promise<readonly string[]> {
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    seen.add(req.method ?? '');
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    for (const method of METHODS) {
      if (method === 'CONNECT') continue;
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.end(`${method} / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n`));
        socket.on('data', () => undefined);
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
      });
    }
  } finally {
    server.close();
  }
  return METHODS.filter((m) => seen.has(m));
}
