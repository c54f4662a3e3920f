/**
 * A TCP relay between a process and a server (the database) that a test can freeze: while
 * frozen, no byte moves in either direction and new connections wait — the process sees its
 * connections stall exactly as on a network partition (no reset, no error: silence). Thawed,
 * bytes flow again and waiting connections reach the server.
 */
import net from 'node:net';

export interface TcpRelay {
  /** The relay's loopback port. */
  readonly port: number;
  freeze(): void;
  thaw(): void;
  /** Connections currently relayed. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpRelay(targetHost: string, targetPort: number): Promise<TcpRelay> {
  let frozen = false;
  const pairs = new Set<{ client: net.Socket; server: net.Socket | undefined }>();
  const waiting: (() => void)[] = [];

  const server = net.createServer((client) => {
    const pair: { client: net.Socket; server: net.Socket | undefined } = { client, server: undefined };
    pairs.add(pair);
    client.pause();
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      pair.server?.destroy();
    };
    client.on('error', drop).on('close', drop);
    const connect = (): void => {
      if (client.destroyed) return;
      const upstream = net.connect(targetPort, targetHost);
      pair.server = upstream;
      upstream.on('error', drop).on('close', drop);
      upstream.once('connect', () => {
        client.pipe(upstream);
        upstream.pipe(client);
        if (frozen) {
          client.pause();
          upstream.pause();
        } else {
          client.resume();
        }
      });
    };
    if (frozen) waiting.push(connect);
    else connect();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    freeze() {
      frozen = true;
      // Paused sockets stop reading: TCP flow control holds everything else in the kernel.
      for (const { client, server: upstream } of pairs) {
        client.pause();
        upstream?.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const { client, server: upstream } of pairs) {
        client.resume();
        upstream?.resume();
      }
      for (const connect of waiting.splice(0)) connect();
    },
    connections: () => pairs.size,
    async close() {
      for (const { client, server: upstream } of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
