/**
 * The RequestObserver that feeds metrics and the access log. Hangs on the response's `close`
 * (pipeline.ts), so refused and aborted requests are counted and logged like forwarded ones.
 *
 * Authentication decisions are read from the finished context, once per request: a route with
 * `auth: required` that ended with an `auth.*` code counts that code (including
 * `auth.insufficient_scope` from the authorize stage); one that got a principal counts `ok`.
 * Requests that never reached a decision (no route, client gone during verification) count none.
 */
import type { UpstreamErrorKind, UpstreamFailureReason } from '../forward/upstream-errors.js';
import type { RequestContext } from '../types.js';
import type { AccessLog } from './access-log.js';
import { isAuthOutcomeCode, methodIndex, NO_ROUTE, schemeOf, type AuthOutcomeCode } from './labels.js';
import { createInternalErrorLog } from './internal-errors.js';
import type { Logger } from './logger.js';
import type { RequestObserver } from './observer.js';
import type { RolloutMetrics } from './rollout-metrics.js';
import type { RouteSeriesTable } from './route-series.js';

export interface CountingObserver extends RequestObserver {
  /** Requests started and not yet ended. */
  inFlight(): number;
}

function authOutcomeOf(ctx: RequestContext): AuthOutcomeCode | undefined {
  const { decision } = ctx;
  if (decision.startsWith('auth.')) return isAuthOutcomeCode(decision) ? decision : undefined;
  return ctx.principal !== undefined ? 'ok' : undefined;
}

export function createRequestObserver(
  table: RouteSeriesTable,
  accessLog: AccessLog,
  logger: Logger,
  rollout?: RolloutMetrics,
): CountingObserver {
  const reportInternalError = createInternalErrorLog(logger);
  let inFlight = 0;
  let failureLogged = false;

  // Observation must never break the request path: a throw in the request handler or in a
  // 'close' listener would be an uncaught exception. Reported once, then silently skipped.
  const failed = (error: unknown): void => {
    if (failureLogged) return;
    failureLogged = true;
    logger.error(
      { event: 'observe.failed', error: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
      'request observation failed',
    );
  };

  return {
    inFlight: () => inFlight,
    requestStarted() {
      inFlight++;
    },
    requestEnded(ctx, status) {
      inFlight--;
      const endedAt = process.hrtime.bigint();
      try {
        const { route } = ctx;
        const series = table.get(route?.name);
        series.request(methodIndex(ctx.req.method), status).inc();
        // A WebSocket session's duration is the session's, not the gateway's latency.
        if (status !== 101) series.requestDuration.observe(Number(endedAt - ctx.startedAt) / 1e9);
        const { upstreamStartedAt, upstreamHeadersAt } = ctx;
        if (upstreamStartedAt !== undefined && upstreamHeadersAt !== undefined) {
          series.upstreamDuration.observe(Number(upstreamHeadersAt - upstreamStartedAt) / 1e9);
        }
        if (route !== undefined && route.auth === 'required') {
          const code = authOutcomeOf(ctx);
          if (code !== undefined) series.authDecision(ctx.principal?.scheme ?? schemeOf(ctx.req.headers.authorization), code).inc();
        }
        if (route !== undefined && rollout !== undefined) {
          if (ctx.shadow !== undefined) rollout.shadowRefusal(route.name, ctx.shadow);
          const { deprecation } = ctx;
          if (deprecation !== undefined) {
            const sunset = ctx.decision === 'auth.credential_sunset' || ctx.shadow === 'auth.credential_sunset';
            rollout.deprecatedRequest(route.name, deprecation.kind, sunset ? 'sunset' : 'announced');
          }
        }
        // The cause first: the access line that quotes the request id follows it.
        if (ctx.failure !== undefined) reportInternalError(ctx.id, ctx.failure);
        accessLog.write(ctx, status, endedAt);
      } catch (error) {
        failed(error);
      }
    },
    upstreamFailed(ctx: RequestContext, kind: UpstreamErrorKind, reason: UpstreamFailureReason = 'other') {
      try {
        const route = ctx.route?.name ?? NO_ROUTE;
        table.get(ctx.route?.name).upstreamErrors[kind].inc();
        logger.warn({ event: 'upstream.error', requestId: ctx.id, route, kind, reason }, 'upstream request failed');
      } catch (error) {
        failed(error);
      }
    },
  };
}
