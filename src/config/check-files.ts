/**
 * The PEM files a configuration names: `tls.cert`, `tls.key`, `admin.tls.cert`, `admin.tls.key`,
 * `routes[].upstreamCa` and `jwt.issuers[].jwksCa`, resolved against the config file's directory. Each is read once and
 * checked with node:crypto (certificates parse, the key parses and matches `tls.cert`); the
 * texts are handed to compilation so nothing reads them again.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigPath, Finding } from './issues.js';
import type { PartialConfig } from './partial.js';

/** What the files check found: problems, and the text of every file read (by absolute path). */
export interface FileCheck {
  readonly findings: readonly Finding[];
  readonly files: ReadonlyMap<string, string>;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BEGIN = /-----BEGIN (?:(RSA|EC|ENCRYPTED) )?PRIVATE KEY-----/;

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'file not found',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, expected a file',
};

type Read = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly message: string };

function describeFile(written: string, absolute: string): string {
  return written === absolute ? JSON.stringify(written) : `${JSON.stringify(written)} (${absolute})`;
}

function readText(absolute: string): Read {
  try {
    return { ok: true, text: readFileSync(absolute, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    return { ok: false, message: READ_ERRORS[code] ?? code };
  }
}

function certificateProblem(text: string, file: string): string | undefined {
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return `${file} is not a PEM certificate file; expected a "-----BEGIN CERTIFICATE-----" block`;
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `${file}: certificate ${i + 1} of ${blocks.length} cannot be parsed`;
    }
  }
  return undefined;
}

function parseKey(text: string, file: string): { key: KeyObject } | { message: string } {
  const begin = KEY_BEGIN.exec(text);
  if (begin === null) return { message: `${file} is not a PEM private key file; expected a "-----BEGIN PRIVATE KEY-----" block` };
  if (begin[1] === 'ENCRYPTED')
    return { message: `${file} holds an encrypted private key; Portcullis needs it unencrypted (protect the file instead)` };
  try {
    return { key: createPrivateKey(text) };
  } catch {
    return { message: `${file}: the private key cannot be parsed` };
  }
}

/** Whether the first certificate of a chain was issued for `key`. */
function keyMatches(certText: string, key: KeyObject): boolean {
  try {
    return new X509Certificate(certText.match(CERTIFICATE_BLOCK)?.[0] ?? certText).checkPrivateKey(key);
  } catch {
    return false; // different key types (an EC key for an RSA certificate) throw
  }
}

interface Reference {
  readonly path: ConfigPath;
  readonly written: string;
  readonly kind: 'certificate' | 'key';
}

/** The listeners that serve a certificate with its key: where their `tls` is, and the key path written in messages. */
const LISTENER_TLS: readonly {
  readonly at: ConfigPath;
  readonly get: (parts: PartialConfig) => { cert?: string; key?: string } | undefined;
}[] = [
  { at: ['tls'], get: (parts) => parts.tls },
  { at: ['admin', 'tls'], get: (parts) => parts.admin?.tls },
];

function references(parts: PartialConfig): Reference[] {
  const refs: Reference[] = [];
  const add = (path: ConfigPath, written: string | undefined, kind: Reference['kind']): void => {
    if (written !== undefined) refs.push({ path, written, kind });
  };
  for (const listener of LISTENER_TLS) {
    add([...listener.at, 'cert'], listener.get(parts)?.cert, 'certificate');
    add([...listener.at, 'key'], listener.get(parts)?.key, 'key');
  }
  parts.routes?.forEach((route, i) => add(['routes', i, 'upstreamCa'], route?.upstreamCa, 'certificate'));
  parts.jwt?.issuers?.forEach((issuer, i) => add(['jwt', 'issuers', i, 'jwksCa'], issuer?.jwksCa, 'certificate'));
  return refs;
}

/** Read and check every PEM file the configuration names. */
export function checkFiles(parts: PartialConfig, baseDir: string): FileCheck {
  const findings: Finding[] = [];
  const files = new Map<string, string>();
  const reads = new Map<string, Read>();
  // A CA named by 10,000 routes is parsed once.
  const certificateChecks = new Map<string, string | undefined>();
  // Per listener ('tls', 'admin.tls'): whether its certificate parsed, and its key.
  const certOk = new Map<string, boolean>();
  const keys = new Map<string, KeyObject>();
  const listenerOf = (path: ConfigPath): string | undefined => {
    const at = path.slice(0, -1).join('.');
    return at === 'tls' || at === 'admin.tls' ? at : undefined;
  };
  for (const ref of references(parts)) {
    const absolute = path.resolve(baseDir, ref.written);
    const file = describeFile(ref.written, absolute);
    const read = reads.get(absolute) ?? readText(absolute);
    reads.set(absolute, read);
    if (!read.ok) {
      findings.push({ path: ref.path, message: `cannot read ${file}: ${read.message}` });
      continue;
    }
    if (ref.kind === 'certificate') {
      const problem = certificateChecks.has(absolute) ? certificateChecks.get(absolute) : certificateProblem(read.text, file);
      certificateChecks.set(absolute, problem);
      if (problem !== undefined) findings.push({ path: ref.path, message: problem });
      else files.set(absolute, read.text);
      const listener = listenerOf(ref.path);
      if (listener !== undefined) certOk.set(listener, problem === undefined);
    } else {
      const parsed = parseKey(read.text, file);
      if ('message' in parsed) findings.push({ path: ref.path, message: parsed.message });
      else {
        const listener = listenerOf(ref.path);
        if (listener !== undefined) keys.set(listener, parsed.key);
        files.set(absolute, read.text);
      }
    }
  }
  for (const listener of LISTENER_TLS) {
    const name = listener.at.join('.');
    const certFile = listener.get(parts)?.cert;
    const key = keys.get(name);
    if (certFile === undefined || certOk.get(name) !== true || key === undefined) continue;
    const certText = files.get(path.resolve(baseDir, certFile)) ?? '';
    if (!keyMatches(certText, key)) {
      findings.push({
        path: [...listener.at, 'key'],
        message: `the private key does not match the certificate in ${name}.cert (${JSON.stringify(certFile)}); expected the key the certificate was issued for`,
      });
    }
  }
  return { findings, files };
}
