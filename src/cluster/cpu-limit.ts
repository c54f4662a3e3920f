/**
 * The CPUs a container's CPU limit lets this process use: its cgroup's CFS quota over its period
 * (cgroup v2 `cpu.max`; v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`), in this cgroup and every
 * one above it, the smallest, rounded down and at least 1. Undefined without a limit.
 *
 * Why: `workers: auto` is one worker per CPU. Node 20's `os.availableParallelism()` counts the
 * CPUs the process may be scheduled on and not the CPU limit (libuv reads the limit from 1.49 on,
 * which Node 20 does not ship), so in a pod limited to 2 CPUs on a 64-core node `auto` would start
 * 64 workers, each throttled to a fraction of a CPU and each holding its own caches and pools.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** CPUs allowed by a quota and period in microseconds; undefined for no limit (`max`, -1) or nonsense. */
function cpusOf(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || quota === 'max') return undefined;
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isInteger(q) || !Number.isInteger(p) || q <= 0 || p <= 0) return undefined;
  return Math.max(1, Math.floor(q / p));
}

/** `/a/b/c` → `/a/b/c`, `/a/b`, `/a`, `/`. */
function selfAndAncestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let n = parts.length; n >= 0; n--) out.push(`/${parts.slice(0, n).join('/')}`);
  return out;
}

function smallest(limits: readonly (number | undefined)[]): number | undefined {
  const known = limits.filter((limit): limit is number => limit !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}

/** cgroup v2: `0::/path` in /proc/self/cgroup, `cpu.max` (`quota period`) under the unified mount. */
function v2Limit(root: string, path: string): number | undefined {
  const limits: (number | undefined)[] = [];
  for (const mount of ['sys/fs/cgroup', 'sys/fs/cgroup/unified']) {
    for (const dir of selfAndAncestors(path)) {
      const [quota, period] = (read(join(root, mount, dir, 'cpu.max')) ?? '').split(/\s+/);
      limits.push(cpusOf(quota, period));
    }
  }
  return smallest(limits);
}

/**
 * cgroup v1: the `cpu` controller's line in /proc/self/cgroup. Inside a container the
 * controller is usually mounted at the container's own cgroup, so the mount itself is read as well
 * as the path below it.
 */
function v1Limit(root: string, path: string): number | undefined {
  const limits: (number | undefined)[] = [];
  for (const mount of ['sys/fs/cgroup/cpu', 'sys/fs/cgroup/cpu,cpuacct', 'sys/fs/cgroup/cpuacct,cpu']) {
    for (const dir of selfAndAncestors(path)) {
      const base = join(root, mount, dir);
      limits.push(cpusOf(read(join(base, 'cpu.cfs_quota_us')), read(join(base, 'cpu.cfs_period_us'))));
    }
  }
  return smallest(limits);
}

/** The CPU limit of this process's cgroups (see the module comment); `root` is `/` but in tests. */
export function cgroupCpuLimit(root = '/'): number | undefined {
  const membership = read(join(root, 'proc/self/cgroup'));
  if (membership === undefined) return undefined;
  const limits: (number | undefined)[] = [];
  for (const line of membership.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first === -1 || second === -1) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') limits.push(v2Limit(root, path));
    else if (controllers.split(',').includes('cpu')) limits.push(v1Limit(root, path));
  }
  return smallest(limits);
}
