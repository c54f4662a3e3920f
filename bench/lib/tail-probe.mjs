// Loaded into a gateway or a forwarder with `node --import bench/lib/tail-probe.mjs …` by
// bench/tail.mjs: records, with CLOCK_MONOTONIC times, what could hold a request up inside the
// process, so that the slow requests of an open-loop run can be laid over them.
//
//   gc      every GC pause (perf_hooks 'gc' entries): start, duration, kind
//   write   every write to stdout (the access log's batches; a file is written synchronously)
//   sqlite  bursts of better-sqlite3 statements (consecutive calls < 0.2 ms apart are one burst),
//           with the first statement's SQL: last-used writes, change-feed polls, counts
//   stall   the event loop late by > 1 ms for a 1 ms timer, with how much of the lateness the
//           main thread spent running (ran) and waiting for a CPU (waited, run-queue delay) by
//           /proc/thread-self/schedstat: work, descheduled, or neither (blocked in the kernel)
//
// Events are appended as JSON lines to $TAIL_PROBE_FILE every 2 s and at exit. Times are in ms
// of CLOCK_MONOTONIC (process.hrtime), the clock bench/lib/open-loop.mjs stamps requests with.
// The probe costs the process a 1 ms timer and a pread per tick: it is loaded into every
// target of a tail run alike.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { appendFileSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env.TAIL_PROBE_FILE;
const events = [];
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
// performance.now() and process.hrtime() are both CLOCK_MONOTONIC: a constant offset.
const perfToMono = monoMs() - performance.now();

if (out) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      events.push({ t: 'gc', s: e.startTime + perfToMono, d: e.duration, k: e.detail?.kind ?? e.kind });
    }
  }).observe({ entryTypes: ['gc'] });

  // The access log: process.stdout.write (a file: synchronous; a pipe: handed to the loop).
  const stdout = process.stdout;
  const write = stdout.write;
  stdout.write = function probedWrite(chunk, ...rest) {
    const s = monoMs();
    const r = write.call(this, chunk, ...rest);
    events.push({ t: 'write', s, d: monoMs() - s, b: chunk?.length ?? 0 });
    return r;
  };

  // better-sqlite3, as the gateway loads it (resolved from the main module).
  try {
    const require = createRequire(process.argv[1] ?? import.meta.url);
    const Database = require('better-sqlite3');
    const db = new Database(':memory:');
    const Statement = Object.getPrototypeOf(db.prepare('select 1'));
    db.close();
    let burst = null;
    for (const name of ['run', 'get', 'all']) {
      const original = Statement[name];
      Statement[name] = function probedStatement(...args) {
        const s = monoMs();
        try {
          return original.apply(this, args);
        } finally {
          const e = monoMs();
          if (burst && s - (burst.s + burst.d) < 0.2) {
            burst.d = e - burst.s;
            burst.n++;
          } else {
            burst = { t: 'sqlite', s, d: e - s, n: 1, q: String(this.source ?? '').slice(0, 60) };
            events.push(burst);
          }
        }
      };
    }
  } catch {
    // Not a gateway (the bare forwarder): nothing to wrap.
  }

  // Event-loop stalls, with what the main thread did meanwhile.
  let fd = -1;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    /* not Linux */
  }
  const buf = Buffer.alloc(128);
  const sched = () => {
    if (fd < 0) return [0, 0];
    const n = readSync(fd, buf, 0, buf.length, 0);
    const [ran, waited] = buf.toString('latin1', 0, n).split(' ');
    return [Number(ran) / 1e6, Number(waited) / 1e6];
  };
  let last = monoMs();
  let [lastRan, lastWaited] = sched();
  const tick = () => {
    const now = monoMs();
    const [ran, waited] = sched();
    const late = now - last - 1;
    if (late > 1) events.push({ t: 'stall', s: last + 1, d: late, ran: ran - lastRan, waited: waited - lastWaited });
    last = now;
    lastRan = ran;
    lastWaited = waited;
  };
  setInterval(tick, 1).unref();

  // The young generation's size now and then: V8 shrinks it while the process idles.
  const newSpace = () => getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
  const save = () => {
    events.push({ t: 'heap', s: monoMs(), d: 0, newSpace: newSpace() });
    if (events.length === 0) return;
    const lines = events
      .splice(0)
      .map((e) => JSON.stringify(e))
      .join('\n');
    appendFileSync(out, `${lines}\n`);
  };
  setInterval(save, 2000).unref();
  process.on('exit', save);
}
