#!/usr/bin/env node
// Aggregates a V8 .cpuprofile (node --cpu-prof) by function and by origin.
//
//   node bench/lib/cpuprofile-summary.mjs FILE.cpuprofile [--top 25] [--json]
//
// Self time of a function = the time of the samples whose leaf frame is that function (from
// timeDeltas, not hit counts × interval). Total time = the time of the samples with the function
// anywhere on the stack (counted once per sample, so recursion does not double count).
// Origins group frames by where the code lives: `portcullis:<file>` for dist/src, `npm:<package>`
// for node_modules, `node:<module>` for Node's own JavaScript, and V8's pseudo frames
// ((garbage collector), (program), (idle)). The idle time is shown but left out of the
// percentages, which are of the busy time.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Where a frame's code comes from. */
export function originOf(url, functionName) {
  if (!url) {
    if (/^\((garbage collector|program|idle|root)\)$/.test(functionName)) return functionName;
    return '(native)';
  }
  const src = /\/dist\/src\/(.+?)\.js$/.exec(url);
  if (src) return `portcullis:${src[1]}`;
  const mod = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (mod) return `npm:${mod[1]}`;
  if (url.startsWith('node:'))
    return `node:${
      url
        .slice(5)
        .replace(/^internal\//, '')
        .split('/')[0]
    }`;
  if (url.startsWith('file://')) return `file:${url.split('/').slice(-2).join('/')}`;
  return url;
}

function short(url) {
  if (!url) return '';
  const src = /\/(dist\/src\/.+)$/.exec(url);
  if (src) return src[1];
  const mod = /\/node_modules\/(.+)$/.exec(url);
  if (mod) return mod[1];
  return url.replace(/^file:\/\//, '');
}

/**
 * @param {any} profile parsed .cpuprofile
 * @param {{ fromUs: number, toUs: number } | null} [window] only samples taken in this interval
 *        (µs on the profile's clock, which is CLOCK_MONOTONIC like process.hrtime), e.g. the
 *        measured run without the process's start-up
 * @returns {{ busyMs: number, idleMs: number, totalMs: number, samples: number,
 *   functions: Array<{ name: string, where: string, origin: string, selfMs: number, selfPct: number, totalMs: number, totalPct: number }>,
 *   origins: Array<{ origin: string, selfMs: number, selfPct: number }> }}
 */
export function summarise(profile, window = null) {
  const nodes = new Map();
  const parent = new Map();
  for (const n of profile.nodes) {
    nodes.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = (n) => {
    const f = n.callFrame;
    return `${f.functionName || '(anonymous)'}\u0000${f.url}\u0000${f.lineNumber}`;
  };
  const self = new Map();
  const total = new Map();
  const origins = new Map();
  const natives = new Map();
  let idleUs = 0;
  let allUs = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime ?? 0;
  let counted = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    // timeDeltas[i] is the time before sample i; attribute the interval that follows a sample to
    // it (the next delta), as Chrome DevTools does.
    const dt = Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0);
    const leaf = nodes.get(samples[i]);
    if (!leaf) continue;
    counted++;
    allUs += dt;
    const leafName = leaf.callFrame.functionName;
    if (leafName === '(idle)') {
      idleUs += dt;
      continue;
    }
    const k = keyOf(leaf);
    self.set(k, (self.get(k) ?? 0) + dt);
    const origin = originOf(leaf.callFrame.url, leafName);
    origins.set(origin, (origins.get(origin) ?? 0) + dt);
    // Native leaves (no script: socket writes, TLS, hashing) are charged to the nearest JS
    // frame that has a script, and to the first Portcullis frame above them, if any.
    if (!leaf.callFrame.url) {
      let caller = null;
      let gatewayFrame = null;
      for (let id = parent.get(leaf.id), guard = 0; id !== undefined && guard < 10_000; id = parent.get(id), guard++) {
        const n = nodes.get(id);
        if (!caller && n.callFrame.url) caller = n;
        if (n.callFrame.url && /\/dist\/src\//.test(n.callFrame.url)) {
          gatewayFrame = n;
          break;
        }
      }
      const label = (n) =>
        n ? `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '(none)';
      const nk = `${leafName || '(anonymous)'}\u0000${label(caller)}\u0000${label(gatewayFrame)}`;
      natives.set(nk, (natives.get(nk) ?? 0) + dt);
    }
    const seen = new Set();
    for (let id = leaf.id, guard = 0; id !== undefined && guard < 10_000; id = parent.get(id), guard++) {
      const n = nodes.get(id);
      const kk = keyOf(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const busyUs = allUs - idleUs || 1;
  const functions = [...self.entries()]
    .map(([k, us]) => {
      const [name, url, line] = k.split('\u0000');
      return {
        name,
        where: url ? `${short(url)}:${Number(line) + 1}` : '',
        origin: originOf(url, name),
        selfMs: us / 1000,
        selfPct: (100 * us) / busyUs,
        totalMs: (total.get(k) ?? us) / 1000,
        totalPct: (100 * (total.get(k) ?? us)) / busyUs,
      };
    })
    .sort((a, b) => b.selfMs - a.selfMs);
  const originList = [...origins.entries()]
    .map(([origin, us]) => ({ origin, selfMs: us / 1000, selfPct: (100 * us) / busyUs }))
    .sort((a, b) => b.selfMs - a.selfMs);
  // Inclusive time of the gateway's own top-level stages (any dist/src function on the stack).
  const stages = [...total.entries()]
    .map(([k, us]) => {
      const [name, url, line] = k.split('\u0000');
      return {
        name,
        where: url ? `${short(url)}:${Number(line) + 1}` : '',
        origin: originOf(url, name),
        totalMs: us / 1000,
        totalPct: (100 * us) / busyUs,
      };
    })
    .filter((f) => f.origin.startsWith('portcullis:'))
    .sort((a, b) => b.totalMs - a.totalMs);
  const nativeList = [...natives.entries()]
    .map(([k, us]) => {
      const [name, caller, gatewayFrame] = k.split('\u0000');
      return { name, caller, gatewayFrame, selfMs: us / 1000, selfPct: (100 * us) / busyUs };
    })
    .sort((a, b) => b.selfMs - a.selfMs);
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    totalMs: allUs / 1000,
    samples: counted,
    window,
    functions,
    origins: originList,
    stages,
    natives: nativeList,
  };
}

/** Markdown tables of the top functions and origins. */
export function markdownSummary(s, top = 25) {
  const f = (x) => x.toFixed(1);
  const lines = [
    `busy ${f(s.busyMs)} ms of ${f(s.totalMs)} ms sampled (${s.samples} samples${s.window ? ', measured run only' : ''}; idle left out of the percentages)`,
    '',
    '| self % | self ms | total % | function | where |',
    '| --: | --: | --: | --- | --- |',
    ...s.functions.slice(0, top).map((x) => `| ${f(x.selfPct)} | ${f(x.selfMs)} | ${f(x.totalPct)} | \`${x.name}\` | ${x.where} |`),
    '',
    '| self % by origin | self ms | origin |',
    '| --: | --: | --- |',
    ...s.origins.slice(0, 20).map((x) => `| ${f(x.selfPct)} | ${f(x.selfMs)} | ${x.origin} |`),
    '',
    '| native self % | native function | called from | under gateway frame |',
    '| --: | --- | --- | --- |',
    ...(s.natives ?? []).slice(0, 12).map((x) => `| ${f(x.selfPct)} | \`${x.name}\` | ${x.caller} | ${x.gatewayFrame} |`),
    '',
    '| total % (inclusive) | gateway function | where |',
    '| --: | --- | --- |',
    ...s.stages.slice(0, 20).map((x) => `| ${f(x.totalPct)} | \`${x.name}\` | ${x.where} |`),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node bench/lib/cpuprofile-summary.mjs FILE.cpuprofile [--top 25] [--json]\n');
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(positionals[0], 'utf8')));
  const top = Number(values.top);
  if (values.json)
    process.stdout.write(`${JSON.stringify({ ...s, functions: s.functions.slice(0, top), stages: s.stages.slice(0, top) }, null, 2)}\n`);
  else process.stdout.write(`${markdownSummary(s, top)}\n`);
}
