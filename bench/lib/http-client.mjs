// Small HTTP(S) client helpers for the runner's checks and set-up (not for load).
import http from 'node:http';
import https from 'node:https';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One request without keep-alive; resolves { status, headers, body } (body as a string).
 * @param {string} url
 * @param {{ method?: string, headers?: Record<string,string>, body?: string | Buffer, ca?: Buffer, timeoutMs?: number, agent?: any }} [o]
 */
export function request(url, o = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((res, rej) => {
    const req = mod.request(
      u,
      { method: o.method ?? 'GET', headers: o.headers ?? {}, ca: o.ca, agent: o.agent ?? false, timeout: o.timeoutMs ?? 5000 },
      (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks).toString('utf8') }));
        r.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end(o.body);
  });
}

/** Polls the URL until it answers (bounded: attempts × 100 ms); returns the answer. */
export async function probe(url, o = {}, attempts = 150) {
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    try {
      return await request(url, { ...o, timeoutMs: 2000 });
    } catch (e) {
      lastErr = e;
      await sleep(100);
    }
  }
  throw new Error(`no answer from ${url}: ${lastErr?.message}`);
}

/**
 * Sends one GET per item of `list` (headers from `headersOf(item)`), `concurrency` at a time over
 * keep-alive connections. Resolves with the count of each status. Bounded by the list length.
 */
export async function requestEach(url, list, headersOf, concurrency = 16) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = {};
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const item = list[next++];
      const r = await request(url, { headers: headersOf(item), agent });
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return statuses;
}

/** Prometheus text format → Map of `name{labels}` (labels as printed) → number. */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

export async function scrapeMetrics(url) {
  const r = await request(url, { timeoutMs: 5000 });
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
  return parseMetrics(r.body);
}
