/**
 * Reads the (small) body of a request addressed to Portcullis itself — token endpoint, admin
 * API — up to a size and within a time (`limits.bodyReadTimeout`): a client trickling a form
 * byte by byte must not hold an unauthenticated socket open indefinitely. Proxied bodies are
 * never read this way: they are streamed.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

export function readBody(req: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limitBytes) {
      reject(new GatewayError('request.body_too_large', `The body is limited to ${limitBytes} bytes.`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        stop();
        reject(new GatewayError('request.body_too_large', `The body is limited to ${limitBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      stop();
      reject(error);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new GatewayError('request.timeout', `The request body did not arrive within ${timeoutMs} ms.`));
    }, timeoutMs);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}
