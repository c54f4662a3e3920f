/**
 * A slow client: writes a request head, then its body one byte at a time, and reads what comes
 * back until the server closes the connection (or the trickle is stopped).
 */
import net from 'node:net';

export interface Trickle {
  /** Everything the server sent, once it closed the connection (or `stop()` was called). */
  readonly answered: Promise<{ readonly raw: string; readonly status: number; readonly bodyBytesSent: number; readonly afterMs: number }>;
  /** Bytes of the body written so far. */
  sent(): number;
  stop(): void;
}

export function trickle(port: number, head: string, body: string, intervalMs: number): Trickle {
  const socket = net.connect(port, '127.0.0.1');
  const startedAt = performance.now();
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.on('connect', () => {
    socket.write(head);
    timer = setInterval(() => {
      if (index >= body.length || socket.destroyed || !socket.writable) return;
      socket.write(body[index] ?? '');
      index++;
    }, intervalMs);
  });
  const answered = new Promise<{ raw: string; status: number; bodyBytesSent: number; afterMs: number }>((resolve) => {
    socket.once('close', () => {
      clearInterval(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({
        raw,
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0),
        bodyBytesSent: index,
        afterMs: performance.now() - startedAt,
      });
    });
  });
  return {
    answered,
    sent: () => index,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** The problem+json body of a raw answer. */
export function problemOf(raw: string): { code?: string; requestId?: string } {
  const at = raw.indexOf('\r\n\r\n');
  try {
    return JSON.parse(raw.slice(at + 4)) as { code?: string; requestId?: string };
  } catch {
    return {};
  }
}
