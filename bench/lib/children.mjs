// The child processes of a bench script: pinned to CPUs with taskset when the machine has it,
// every one killed by the script's own exit hook, and the "ready <port>" line that the upstream and
// the forwarders print awaited with a bound.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Whether `taskset` exists here; without it every child runs unpinned. */
export const HAS_TASKSET = !spawnSync('taskset', ['--version']).error;

/** The file and arguments that run `cmd args` on `cpus` (unpinned when cpus is unset or taskset is missing). */
export function pinned(cpus, cmd, args) {
  return cpus && HAS_TASKSET ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
}

/** Spawns `cmd args` with this process's environment plus `env`, and adds it to `children`. */
export function startChild(children, cmd, args, { cpus, env = {}, stdout = 'pipe' } = {}) {
  const [file, argv] = pinned(cpus, cmd, args);
  const child = spawn(file, argv, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  children.push(child);
  return child;
}

/** The port of the first "ready <port>" line the child prints on stdout. */
export function readyPort(child, timeoutMs = 30_000) {
  return new Promise((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(Number(m[1]));
      }
    });
  });
}

/** The direct children of pid (a primary's workers), from every thread's /proc children list. */
export function childrenOf(pid) {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}
