/**
 * The trust store of an upstream given its own CA (`upstreamCa`): the public roots plus that CA.
 * Building one parses every public root certificate, 20–30 ms of CPU, so it is built once per
 * CA text and shared by the HTTP pools and the WebSocket upgrades of every route that names that
 * CA; passing `ca` to a connection instead would rebuild it on every connection.
 */
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { UpstreamTarget } from '../config/types.js';

/** Distinct CAs kept; a configuration naming more still works, rebuilding the least used. */
const MAX_TRUST_STORES = 64;

const byCa = new LRUCache<string, SecureContext>({ max: MAX_TRUST_STORES });
const byTarget = new WeakMap<UpstreamTarget, SecureContext>();
const upgradeAgents = new WeakMap<SecureContext, Agent>();

/** The upstream's trust store, or undefined when it trusts the public roots only (Node's default context). */
export function trustContextOf(target: UpstreamTarget): SecureContext | undefined {
  if (target.ca === undefined) return undefined;
  let context = byTarget.get(target);
  if (context === undefined) {
    context = byCa.get(target.ca);
    if (context === undefined) {
      context = createSecureContext({ ca: [...rootCertificates, target.ca] });
      byCa.set(target.ca, context);
    }
    byTarget.set(target, context);
  }
  return context;
}

/**
 * An agent for WebSocket upgrades to an upstream with its own CA, or undefined for the public
 * roots. No keep-alive: an upgraded socket leaves the agent, and one refused by the upstream is
 * closed.
 */
export function upgradeAgentOf(target: UpstreamTarget): Agent | undefined {
  const context = trustContextOf(target);
  if (context === undefined) return undefined;
  let agent = upgradeAgents.get(context);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: false, secureContext: context });
    upgradeAgents.set(context, agent);
  }
  return agent;
}
