/**
 * Reads the (small) body of a request addressed to Portcullis itself — token endpoint, admin
 * API — up to a limit. Proxied bodies are never read this way: they are streamed.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limitBytes) {
      reject(new GatewayError('request.body_too_large', `The body is limited to ${limitBytes} bytes.`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off('data', onData);
        reject(new GatewayError('request.body_too_large', `The body is limited to ${limitBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
