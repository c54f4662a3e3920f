/**
 * `GET /metrics` on the metrics listener (the gateway answers /healthz and /readyz itself and
 * hands everything else here). Prometheus text format 0.0.4 by default; OpenMetrics 1.0.0 when
 * the `Accept` header prefers it (Prometheus itself asks for OpenMetrics first).
 */
import type http from 'node:http';
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { OWN_ANSWER_HEADERS } from '../listen/own-answer-headers.js';
import type { Logger } from './logger.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

interface MediaRange {
  readonly type: string;
  readonly q: number;
  readonly version: string | undefined;
}

function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const item of accept.split(',')) {
    const [head = '', ...params] = item.split(';');
    const type = head.trim().toLowerCase();
    if (type === '') continue;
    let q = 1;
    let version: string | undefined;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq === -1) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
      if (key === 'q') {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      } else if (key === 'version') {
        version = value;
      }
    }
    ranges.push({ type, q, version });
  }
  return ranges;
}

/**
 * The format an `Accept` header asks for: OpenMetrics when `application/openmetrics-text`
 * (version 1.0.0, 0.0.1 or none) has a non-zero quality at least that of the text format
 * (`text/plain`, `text/*`, `*` / `*`); the text format otherwise, also without the header.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'prometheus';
  let openMetrics = 0;
  let text = 0;
  for (const range of parseAccept(accept)) {
    if (range.type === 'application/openmetrics-text') {
      if (range.version === undefined || range.version === '1.0.0' || range.version === '0.0.1')
        openMetrics = Math.max(openMetrics, range.q);
    } else if (range.type === 'text/plain' || range.type === 'text/*' || range.type === '*/*') {
      text = Math.max(text, range.q);
    }
  }
  return openMetrics > 0 && openMetrics >= text ? 'openmetrics' : 'prometheus';
}

/** The minimal view of a prom-client metric the OpenMetrics rendering needs. */
interface MetricView {
  readonly name: string;
  readonly type: unknown;
  get(): Promise<{ name: string }>;
}

/**
 * Renders a registry in OpenMetrics 1.0.0. prom-client renders OpenMetrics by renaming every
 * counter of the registry in place (`x_total` → `x`), which would corrupt a text scrape running
 * at the same time and every later one; so the metrics are rendered through a throw-away
 * OpenMetrics registry that holds renamed views of the counters and the other metrics as they are.
 */
export async function renderOpenMetrics(registry: Registry): Promise<string> {
  const out = new Registry<OpenMetricsContentType>();
  out.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of registry.getMetricsAsArray() as unknown as MetricView[]) {
    if (String(metric.type) !== 'counter') {
      out.registerMetric(metric as never);
      continue;
    }
    const name = metric.name.replace(/_total$/, '');
    const view: MetricView = {
      name,
      type: metric.type,
      get: async () => ({ ...(await metric.get()), name }),
    };
    out.registerMetric(view as never);
  }
  return out.metrics();
}

const NOT_FOUND = '{"status":404,"title":"Not found","detail":"The metrics listener serves /metrics, /healthz and /readyz."}';
const NOT_ALLOWED = '{"status":405,"title":"Method not allowed","detail":"/metrics answers GET and HEAD."}';
const FAILED = '{"status":500,"title":"Metrics collection failed"}';

/**
 * `source`: the registry to render, or a function that builds one per scrape (a host of workers
 * renders the merged registry the primary assembles; src/cluster). A rejected build fails the
 * scrape like a failed collect().
 */
export function createMetricsHandler(source: Registry | (() => Promise<Registry>), logger: Logger): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store', ...OWN_ANSWER_HEADERS });
      res.end(NOT_FOUND);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json', 'cache-control': 'no-store', allow: 'GET, HEAD', ...OWN_ANSWER_HEADERS });
      res.end(NOT_ALLOWED);
      return;
    }
    const format = negotiateFormat(req.headers.accept);
    const registry = typeof source === 'function' ? source() : Promise.resolve(source);
    const rendering = registry.then((r) => (format === 'openmetrics' ? renderOpenMetrics(r) : r.metrics()));
    rendering.then(
      (body) => {
        if (res.destroyed) return;
        res.writeHead(200, {
          'content-type': format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE,
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
          vary: 'Accept',
          ...OWN_ANSWER_HEADERS,
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        // A collect() callback threw: a bug. Logged, and the scrape fails visibly (Prometheus
        // marks the target down) rather than answering with partial data.
        const detail = error instanceof Error ? { name: error.name, message: error.message } : { name: typeof error };
        logger.error({ event: 'metrics.collect_failed', error: detail }, 'metrics collection failed');
        if (res.destroyed) return;
        res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store', ...OWN_ANSWER_HEADERS });
        res.end(FAILED);
      },
    );
  };
}
