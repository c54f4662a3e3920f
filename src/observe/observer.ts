/**
 * Hooks through which metrics and the access log watch requests. Stages call these; they never
 * block the request and never see a secret.
 */
import type { UpstreamErrorKind, UpstreamFailureReason } from '../forward/upstream-errors.js';
import type { RequestContext } from '../types.js';

export interface RequestObserver {
  /** A request entered the pipeline. */
  requestStarted(ctx: RequestContext): void;
  /** The response closed (finished, refused or aborted): count it and log it. */
  requestEnded(ctx: RequestContext, status: number): void;
  /** The upstream failed for a route; `reason` is Node's code, bounded (upstream-errors.ts). */
  upstreamFailed(ctx: RequestContext, kind: UpstreamErrorKind, reason?: UpstreamFailureReason): void;
}

export const NO_OBSERVER: RequestObserver = {
  requestStarted() {},
  requestEnded() {},
  upstreamFailed() {},
};
