// Throwaway PKI for the benchmark: a CA and a server certificate for
// 127.0.0.1 / localhost, made with the `openssl` CLI in a temp directory.
// Nothing here is meant to outlive one bench run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL_TIMEOUT_MS = 20_000;

let opensslBin = 'openssl';

function openssl(args, cwd) {
  execFileSync(opensslBin, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: OPENSSL_TIMEOUT_MS });
}

/**
 * Create a CA and a server certificate (EC P-256, 2 days) in a fresh temp dir.
 * @param {{ dir?: string, openssl?: string }} [opts] dir: where to write, default a new
 *        mkdtemp dir; openssl: the binary, default `openssl` from PATH.
 * @returns {{ dir: string, caCert: string, caKey: string, cert: string, key: string,
 *            ca: Buffer, certPem: Buffer, keyPem: Buffer, cleanup: () => void }}
 *          paths of the PEM files plus their contents.
 */
export function createCerts(opts = {}) {
  opensslBin = opts.openssl ?? 'openssl';
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'portcullis-bench-certs-'));
  // nginx workers may run as an unprivileged user; the files are throwaway.
  chmodSync(dir, 0o755);
  try {
    return makeIn(dir);
  } catch (err) {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function makeIn(dir) {
  const p = (f) => join(dir, f);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=portcullis-bench-ca',
      '-out',
      'ca.crt',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );

  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key'], dir);
  openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=localhost', '-out', 'server.csr'], dir);
  writeFileSync(
    p('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ],
    dir,
  );
  for (const f of ['ca.key', 'server.key', 'ca.crt', 'server.crt']) chmodSync(p(f), 0o644);

  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    cert: p('server.crt'),
    key: p('server.key'),
    ca: readFileSync(p('ca.crt')),
    certPem: readFileSync(p('server.crt')),
    keyPem: readFileSync(p('server.key')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// `node bench/lib/certs.mjs` prints the directory (handy for manual runs).
if (import.meta.url === `file://${process.argv[1]}`) {
  const c = createCerts();
  process.stdout.write(`${c.dir}\n`);
}
