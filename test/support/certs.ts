/**
 * Certificates generated at test time with the openssl CLI: a CA and leaf certificates it signs.
 * Nothing private is committed; every run makes its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly dir: string;
  readonly caCert: string;
  readonly caCertPath: string;
  issue(name: string, altNames: readonly string[]): TestCert;
  /** A certificate valid only between two dates (`YYYYMMDDHHMMSSZ`): an expired one, for instance. */
  issueBetween(name: string, altNames: readonly string[], notBefore: string, notAfter: string): TestCert;
  cleanup(): void;
}

export interface TestCert {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `openssl req` arguments for a new P-256 key, written unencrypted. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The leaf's key, its certificate request and its extensions file (SAN, server use), in `dir`. */
function leafRequest(dir: string, name: string, altNames: readonly string[]): void {
  const san = altNames.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', ...NEW_EC_KEY, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${altNames[0] ?? name}`], dir);
}

function readLeaf(dir: string, name: string): TestCert {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}-key.pem`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/**
 * A self-signed EC certificate valid for 2 days and its key, written as `<name>.pem` and
 * `<name>-key.pem` in `dir`; `extra`: more `openssl req` arguments (extensions).
 */
export function selfSigned(
  dir: string,
  name: string,
  subject = name,
  extra: readonly string[] = [],
): { readonly certPath: string; readonly keyPath: string } {
  openssl(
    ['req', '-x509', ...NEW_EC_KEY, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${subject}`, ...extra],
    dir,
  );
  return { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}-key.pem`) };
}

export function createTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-ca-'));
  const { certPath: caCertPath } = selfSigned(dir, 'ca', 'Portcullis Test CA', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    dir,
    caCert: readFileSync(caCertPath, 'utf8'),
    caCertPath,
    issue(name, altNames) {
      leafRequest(dir, name, altNames);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca-key.pem',
          '-CAcreateserial',
          '-out',
          `${name}.pem`,
          '-days',
          '2',
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
      return readLeaf(dir, name);
    },
    issueBetween(name, altNames, notBefore, notAfter) {
      // `openssl x509` cannot back-date; `openssl ca` can, with a minimal CA database.
      leafRequest(dir, name, altNames);
      writeFileSync(
        join(dir, 'ca.cnf'),
        '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=ca.serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n',
      );
      writeFileSync(join(dir, 'index.txt'), '', { flag: 'a' });
      writeFileSync(join(dir, 'ca.serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
      openssl(
        [
          'ca',
          '-batch',
          '-config',
          'ca.cnf',
          '-cert',
          'ca.pem',
          '-keyfile',
          'ca-key.pem',
          '-in',
          `${name}.csr`,
          '-out',
          `${name}.pem`,
          '-startdate',
          notBefore,
          '-enddate',
          notAfter,
          '-extfile',
          `${name}.ext`,
          '-notext',
        ],
        dir,
      );
      return readLeaf(dir, name);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: { ca: TestCa; leaf: TestCert } | undefined;

/** One CA and a localhost/127.0.0.1 certificate for the whole test process. */
export function sharedCerts(): { ca: TestCa; leaf: TestCert } {
  if (!shared) {
    const ca = createTestCa();
    shared = { ca, leaf: ca.issue('localhost', ['localhost', '127.0.0.1']) };
    process.once('exit', () => ca.cleanup());
  }
  return shared;
}
