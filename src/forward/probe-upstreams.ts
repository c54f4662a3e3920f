/**
 * `portcullis check --probe`: connect to every upstream of a configuration the way the gateway
 * will (same trust store: public roots plus the route's `upstreamCa`; same server name and
 * certificate check) and report, per route, whether the TLS handshake succeeds and why not —
 * before the gateway goes live. A handshake only: no request is sent.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { GatewayConfig, UpstreamTarget } from '../config/types.js';
import { classifyUpstreamError, type UpstreamErrorKind, type UpstreamFailureReason, upstreamFailureReason } from './upstream-errors.js';
import { trustContextOf } from './upstream-trust.js';

/** How long one handshake may take before it is reported as ETIMEDOUT. */
export const PROBE_TIMEOUT_MS = 5_000;

/** Certificates expiring sooner than this are reported as a warning. */
export const PROBE_EXPIRY_WARNING_DAYS = 14;

export type ProbeOutcome =
  | { readonly ok: true; readonly expiresAt: string; readonly daysLeft: number }
  | { readonly ok: false; readonly kind: UpstreamErrorKind; readonly reason: UpstreamFailureReason };

export interface RouteProbe {
  readonly route: string;
  /** Index of the route in the file, for locating it. */
  readonly index: number;
  readonly upstream: string;
  readonly outcome: ProbeOutcome;
}

function handshake(target: UpstreamTarget, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const secureContext = trustContextOf(target);
    const socket = tls.connect({
      host: target.hostname,
      port: target.port,
      rejectUnauthorized: true,
      ...(isIP(target.hostname) === 0 ? { servername: target.servername } : {}),
      ...(secureContext !== undefined ? { secureContext } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, kind: 'timeout', reason: 'ETIMEDOUT' });
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const validTo = Date.parse(socket.getPeerCertificate().valid_to);
      socket.end();
      resolve({ ok: true, expiresAt: new Date(validTo).toISOString(), daysLeft: Math.floor((validTo - Date.now()) / 86_400_000) });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, kind: classifyUpstreamError(error), reason: upstreamFailureReason(error) });
    });
  });
}

/** Probes each distinct upstream once (in parallel), and reports the result for every route. */
export async function probeUpstreams(config: GatewayConfig, timeoutMs = PROBE_TIMEOUT_MS): Promise<RouteProbe[]> {
  const byTarget = new Map<UpstreamTarget, Promise<ProbeOutcome>>();
  for (const route of config.routes) if (!byTarget.has(route.upstream)) byTarget.set(route.upstream, handshake(route.upstream, timeoutMs));
  return Promise.all(
    config.routes.map(async (route) => ({
      route: route.name,
      index: route.index,
      upstream: route.upstream.origin,
      outcome: await (byTarget.get(route.upstream) as Promise<ProbeOutcome>),
    })),
  );
}

/** Words for an operator, per reason (docs/logging.md has the same table). */
export function describeProbeFailure(kind: UpstreamErrorKind, reason: UpstreamFailureReason): string {
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return "the upstream's certificate has expired";
    case 'CERT_NOT_YET_VALID':
      return "the upstream's certificate is not valid yet (check the clocks)";
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH':
      return "the upstream's certificate does not name the host of the upstream URL";
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_UNTRUSTED':
      return "the upstream's certificate does not chain to a trusted root; set upstreamCa to its CA (or have the upstream send its intermediate certificates)";
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return 'the upstream does not speak TLS on that port (plain HTTP?)';
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens on that port';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return "the upstream's host name does not resolve";
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'no TLS handshake within the probe timeout';
    default:
      return kind === 'tls' ? 'the TLS handshake failed' : 'the upstream cannot be reached';
  }
}
