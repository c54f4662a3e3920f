// Finds nginx and renders nginx.conf.template into a temp dir, returning the
// command line that runs it in the foreground (daemon off, one worker).
import { existsSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** @returns {string | null} path of an nginx binary: PATH first, then /usr/sbin. */
export function findNginx() {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'])) {
    if (!dir) continue;
    const p = join(dir, 'nginx');
    if (existsSync(p)) return p;
  }
  return null;
}

/** @returns {string} e.g. "nginx/1.22.1", or "" when it cannot be asked. */
export function nginxVersion(bin) {
  // nginx -v prints on stderr.
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/^nginx version:\s*/, '').trim();
}

/**
 * Render the config. Returns { cmd, args, tmp, conf }.
 * @param {{ bin: string, port: number, upstreamPort: number, caPath: string, authorization?: string }} o
 *        authorization: when set, the nginx-map variant: a `map $http_authorization` lets only
 *        this exact header value through (401 otherwise) and the header is not forwarded.
 */
export function prepareNginx(o) {
  const tmp = mkdtempSync(join(tmpdir(), 'portcullis-bench-nginx-'));
  chmodSync(tmp, 0o755);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const conf = readFileSync(join(here, 'nginx.conf.template'), 'utf8')
    .replaceAll('{{TMP}}', tmp)
    .replaceAll('{{PORT}}', String(o.port))
    .replaceAll('{{UPSTREAM_PORT}}', String(o.upstreamPort))
    .replaceAll('{{CA}}', o.caPath)
    .replaceAll(
      '{{HTTP_EXTRA}}',
      o.authorization === undefined
        ? ''
        : [
            '    map_hash_bucket_size 128;',
            '    map $http_authorization $bench_auth_ok {',
            '        default 0;',
            `        "${o.authorization.replace(/["\\$]/g, '')}" 1;`,
            '    }',
          ].join('\n'),
    )
    .replaceAll(
      '{{LOCATION_EXTRA}}',
      o.authorization === undefined
        ? ''
        : ['            if ($bench_auth_ok = 0) { return 401; }', '            proxy_set_header Authorization "";'].join('\n'),
    )
    // As root, nginx would switch workers to "nobody"; keep the worker as the
    // invoking user so it can use the temp dir. Unprivileged: no directive.
    .replaceAll('{{USER_DIRECTIVE}}', isRoot ? 'user root;' : '');
  const confPath = join(tmp, 'nginx.conf');
  writeFileSync(confPath, conf);
  // -e: early error log (before the config is read), nginx >= 1.19.5.
  return { cmd: o.bin, args: ['-p', tmp, '-e', join(tmp, 'error.log'), '-c', confPath], tmp, conf: confPath };
}
