// Per-process and per-CPU counters from /proc (Linux only).
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
} catch {
  /* keep the Linux default */
}
/** Clock ticks per second used by /proc/<pid>/stat. */
export const CLK_TCK = clkTck;

/** @returns {number[]} pid and all its descendants (via /proc/<pid>/task/<tid>/children). */
export function processTree(pid) {
  const out = [];
  const queue = [pid];
  // Bounded: a process tree here is a handful of pids.
  for (let guard = 0; queue.length > 0 && guard < 1000; guard++) {
    const p = queue.shift();
    out.push(p);
    let tids;
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) queue.push(Number(k));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

/**
 * The fields of /proc/<pid>/stat after the ")" that closes comm (index 0 is field 3, state), or
 * null when the process is gone.
 */
function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime+stime of one process in clock ticks, or 0 when it is gone. */
export function cpuTicks(pid) {
  const t = cpuTicksSplit(pid);
  return t.user + t.system;
}

/** utime (field 14) and stime (15) of one process in clock ticks ({user: 0, system: 0} when it is gone). */
export function cpuTicksSplit(pid) {
  const f = statFields(pid);
  return f ? { user: Number(f[11]), system: Number(f[12]) } : { user: 0, system: 0 };
}

/**
 * Page faults summed over the process tree of pid: minor (no I/O) and major (the page had to be
 * read back, e.g. code or a mapped file the kernel had reclaimed while the process sat idle).
 */
export function treePageFaults(pid) {
  let minor = 0;
  let major = 0;
  for (const p of processTree(pid)) {
    const f = statFields(p);
    if (f === null) continue;
    // minflt is field 10, majflt field 12.
    minor += Number(f[7]);
    major += Number(f[9]);
  }
  return { minor, major };
}

/** Machine-wide page-ins: major faults and refaults of reclaimed file pages (/proc/vmstat). */
export function vmstatPageIns() {
  try {
    const v = readFileSync('/proc/vmstat', 'utf8');
    const field = (name) => Number(v.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1] ?? 0);
    return { majorFaults: field('pgmajfault'), fileRefaults: field('workingset_refault_file') };
  } catch {
    return { majorFaults: 0, fileRefaults: 0 };
  }
}

/** User and system CPU seconds summed over the process tree of pid. */
export function treeCpuSplitSeconds(pid) {
  let user = 0;
  let system = 0;
  for (const p of processTree(pid)) {
    const t = cpuTicksSplit(p);
    user += t.user;
    system += t.system;
  }
  return { user: user / CLK_TCK, system: system / CLK_TCK };
}

/**
 * read- and write-family system calls (syscr, syscw of /proc/<pid>/io) summed over the process
 * tree: socket reads and writes included, epoll and sendmsg not.
 */
export function treeSyscalls(pid) {
  let reads = 0;
  let writes = 0;
  for (const p of processTree(pid)) {
    try {
      const io = readFileSync(`/proc/${p}/io`, 'utf8');
      reads += Number(io.match(/^syscr: (\d+)/m)?.[1] ?? 0);
      writes += Number(io.match(/^syscw: (\d+)/m)?.[1] ?? 0);
    } catch {
      /* gone, or not ours */
    }
  }
  return { reads, writes };
}

/** CPU seconds (user+system) summed over the process tree of pid. */
export function treeCpuSeconds(pid) {
  let t = 0;
  for (const p of processTree(pid)) t += cpuTicks(p);
  return t / CLK_TCK;
}

function statusKiB(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) summed over the process tree, in KiB. */
export function treePeakRssKiB(pid) {
  let t = 0;
  for (const p of processTree(pid)) t += statusKiB(p, 'VmHWM');
  return t;
}

/** Current resident set (VmRSS) summed over the process tree, in KiB. */
export function treeRssKiB(pid) {
  let t = 0;
  for (const p of processTree(pid)) t += statusKiB(p, 'VmRSS');
  return t;
}

/** Snapshot of /proc/stat per-CPU jiffies: { cpu0: {busy, idle, steal, total}, ... }. */
export function cpuSnapshot() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = line.match(/^(cpu\d+)\s+(.*)$/);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    const idleAll = idle + iowait;
    const busy = user + nice + system + irq + softirq;
    // task: time charged to processes (user+nice+system), without irq/softirq.
    out[m[1]] = { busy, task: user + nice + system, idle: idleAll, steal, total: busy + idleAll + steal };
  }
  return out;
}

/** Seconds of process (user+nice+system) time over all CPUs between two snapshots. */
export function taskSecondsBetween(a, b) {
  let t = 0;
  for (const k of Object.keys(b)) if (a[k]) t += b[k].task - a[k].task;
  return t / CLK_TCK;
}

/** CPU seconds of this process's reaped children (cutime+cstime of /proc/self/stat). */
export function reapedChildrenCpuSeconds() {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/** Busy and steal percentages per CPU between two snapshots. */
export function cpuUtilisation(a, b) {
  const out = {};
  for (const k of Object.keys(b)) {
    if (!a[k]) continue;
    const total = b[k].total - a[k].total || 1;
    out[k] = {
      busyPct: Math.round(((b[k].busy - a[k].busy) / total) * 1000) / 10,
      stealPct: Math.round(((b[k].steal - a[k].steal) / total) * 1000) / 10,
    };
  }
  return out;
}
