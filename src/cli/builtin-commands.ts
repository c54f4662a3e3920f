/**
 * `portcullis start | demo | check`: the commands that run or check a gateway.
 */
import { formatIssue, formatPath, loadConfigFile, locateFindings, resolveConfigPath, type ConfigIssue } from '../config/index.js';
import { runDemo } from '../demo/run-demo.js';
import { describeProbeFailure, PROBE_EXPIRY_WARNING_DAYS, probeUpstreams, type RouteProbe } from '../forward/probe-upstreams.js';
import { startHost } from '../cluster/start-host.js';
import { isStoreError } from '../credentials/index.js';
import { reportNotInitialised } from './configured-store.js';
import { addressInUse } from '../listen/address-in-use.js';
import { reportAddressInUse } from './address-in-use.js';
import { parseWorkersFlag } from '../cluster/workers-count.js';
import { CONFIG_OPTION } from './options.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, registerCommand, reportConfigProblems, reportError } from './run.js';

const configOf = (values: Readonly<Record<string, string | boolean | undefined>>): string =>
  resolveConfigPath(typeof values.config === 'string' ? values.config : undefined);

/** A probe result as printed with --json, located at the route's `upstream` in the file. */
interface ProbeJson {
  readonly route: string;
  readonly upstream: string;
  readonly ok: boolean;
  readonly reason?: string;
  readonly kind?: string;
  readonly message: string;
  readonly expiresAt?: string;
  readonly warning?: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
}

function probeJson(probe: RouteProbe, where: ConfigIssue): ProbeJson {
  const located = { file: where.file, line: where.line, column: where.column, path: where.path };
  const { outcome } = probe;
  if (!outcome.ok) {
    return {
      route: probe.route,
      upstream: probe.upstream,
      ok: false,
      reason: outcome.reason,
      kind: outcome.kind,
      message: describeProbeFailure(outcome.kind, outcome.reason),
      ...located,
    };
  }
  const warning =
    outcome.daysLeft < PROBE_EXPIRY_WARNING_DAYS ? `the upstream's certificate expires in ${outcome.daysLeft} days` : undefined;
  return {
    route: probe.route,
    upstream: probe.upstream,
    ok: true,
    message: `TLS handshake succeeded; certificate valid until ${outcome.expiresAt}`,
    expiresAt: outcome.expiresAt,
    ...(warning !== undefined ? { warning } : {}),
    ...located,
  };
}

async function probe(file: string, config: Parameters<typeof probeUpstreams>[0]): Promise<ProbeJson[]> {
  const probes = await probeUpstreams(config);
  const located = locateFindings(
    file,
    probes.map((p) => ({ path: ['routes', p.index, 'upstream'], message: '' })),
  );
  return probes.map((p, i) =>
    probeJson(p, located[i] ?? { file, line: 1, column: 1, path: formatPath(['routes', p.index, 'upstream']), message: '' }),
  );
}

export function registerBuiltinCommands(): void {
  registerCommand({
    name: 'start',
    summary: 'Run the gateway.',
    usage: '[--config FILE] [--workers N|auto] [--watch-config]',
    options: {
      ...CONFIG_OPTION,
      workers: {
        type: 'string',
        value: 'N|auto',
        description: 'Worker processes sharing the listeners (1-256, or auto: one per core); overrides `workers` of the file.',
      },
      'watch-config': {
        type: 'boolean',
        description:
          'Also reload when the configuration file, or a certificate or CA file it names, changes (debounced; Kubernetes ConfigMap and Secret updates included). SIGHUP always reloads.',
      },
    },
    examples: [
      'start --config /etc/portcullis/portcullis.yaml',
      'start --config /etc/portcullis/portcullis.yaml --watch-config',
      'start --config /etc/portcullis/portcullis.yaml --workers auto',
    ],
    notes:
      'Signals: SIGHUP reloads the configuration; SIGTERM turns /readyz 503, serves on for limits.shutdownDelay, then drains (limits.shutdownGrace) and exits 0; SIGINT drains at once.\nExit status: 2 when the configuration is invalid (every problem is printed first).',
    async run({ values }, io) {
      const file = configOf(values);
      const json = values.json === true;
      const workersText = typeof values.workers === 'string' ? values.workers : undefined;
      const workers = workersText === undefined ? undefined : parseWorkersFlag(workersText);
      if (workersText !== undefined && workers === undefined) {
        return reportError(
          io,
          json,
          'start',
          'usage',
          `--workers expects "auto" or a whole number from 1 to 256, got "${workersText}"`,
          EXIT_USAGE,
        );
      }
      const addressTaken = (address: string): number =>
        reportAddressInUse(
          io,
          json,
          'start',
          address,
          `move that listener (listen, admin.listen or metrics.listen) to a free port in ${file}`,
        );
      try {
        const started = await startHost(file, (issues) => reportConfigProblems(io, json, 'start', file, issues), workers, {
          watch: values['watch-config'] === true,
          // With workers the primary learns it from the first worker that cannot bind, and exits 1.
          onAddressInUse: (address) => void addressTaken(address),
        });
        return started ? undefined : EXIT_USAGE;
      } catch (error) {
        if (isStoreError(error, 'not_initialised')) return reportNotInitialised(io, json, 'start', error.message, file);
        const address = addressInUse(error);
        if (address !== undefined) return addressTaken(address);
        throw error;
      }
    },
  });

  registerCommand({
    name: 'demo',
    summary: 'Run the gateway over HTTPS on config/demo.yaml with a sample HTTPS API, and print curl lines to try it.',
    usage: '',
    options: {},
    examples: ['demo'],
    notes:
      'Listens where config/demo.yaml says (gateway https://127.0.0.1:8443, metrics 127.0.0.1:9090) and starts the sample API on 127.0.0.1:9443 (the port its routes name). A port another process holds is named, with exit status 1. Both serve a certificate from the demo CA it makes in .demo/; the curl lines trust it with --cacert .demo/ca.pem. Ctrl-C stops it.',
    async run({ values }, io) {
      const json = values.json === true;
      try {
        return await runDemo(json, io);
      } catch (error) {
        const address = addressInUse(error);
        if (address !== undefined) return reportAddressInUse(io, json, 'demo', address, 'change that port in config/demo.yaml');
        throw error;
      }
    },
  });

  registerCommand({
    name: 'check',
    summary: 'Validate the configuration; with --probe, also connect to every upstream and check its certificate.',
    usage: '[--config FILE] [--probe]',
    options: {
      ...CONFIG_OPTION,
      probe: {
        type: 'boolean',
        description:
          'Open a TLS connection to every upstream, as the gateway would (same trust roots, server name and certificate check), and report per route whether it is reachable and why not. No request is sent.',
      },
    },
    examples: ['check --config /etc/portcullis/portcullis.yaml', 'check --config /etc/portcullis/portcullis.yaml --probe --json'],
    notes:
      'Exit status: 0 valid (and, with --probe, every upstream reachable); 2 invalid; 1 an upstream failed the probe.\nWith --json, stdout is {"ok","file","routes","problems":[{file,line,column,path,message}],"probes":[…]}.',
    async run({ values }, io) {
      const file = configOf(values);
      const json = values.json === true;
      const result = loadConfigFile(file);
      if (!result.ok) {
        if (json) {
          io.out(JSON.stringify({ ok: false, file, problems: result.issues }));
          return EXIT_USAGE;
        }
        return reportConfigProblems(io, false, '', file, result.issues);
      }
      const routes = result.config.routes.length;
      if (!json) for (const warning of result.warnings) io.err(formatIssue(warning));
      const probes = values.probe === true ? await probe(file, result.config) : undefined;
      const failed = probes?.filter((p) => !p.ok) ?? [];
      if (json) {
        io.out(
          JSON.stringify({
            ok: failed.length === 0,
            file,
            routes,
            problems: [],
            warnings: result.warnings,
            ...(probes !== undefined ? { probes } : {}),
          }),
        );
        return failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
      }
      io.out(`${file}: valid (${routes} route${routes === 1 ? '' : 's'})`);
      if (probes === undefined) return EXIT_OK;
      for (const p of probes) {
        const line = formatIssue({
          file: p.file,
          line: p.line,
          column: p.column,
          path: p.path,
          message: `route "${p.route}": ${p.upstream}: ${p.message}${p.reason !== undefined ? ` (${p.reason})` : ''}`,
        });
        if (!p.ok) io.err(line);
        else io.out(p.warning !== undefined ? `${line}; warning: ${p.warning}` : line);
      }
      if (failed.length > 0) {
        io.err(`portcullis: ${failed.length} of ${probes.length} route${probes.length === 1 ? '' : 's'} cannot reach their upstream`);
        return EXIT_FAILURE;
      }
      return EXIT_OK;
    },
  });
}

export type { CliIo };
