/**
 * The trust store of an upstream given its own CA (`upstreamCa`): the public roots plus that CA.
 * Building one parses every public root certificate, milliseconds of CPU each time
 * (docs/decisions/0004-engine-floors.md), so it is built once per CA text and shared by the
 * HTTP pools and the WebSocket upgrades of every route that names that CA; passing `ca` to a
 * connection instead would rebuild it on every connection.
 *
 * A store lives as long as a configuration in use refers to it (its pools, its route targets):
 * after a reload that changed or removed a CA, the old store is collected and forgotten here.
 */
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { UpstreamTarget } from '../config/types.js';

const byCa = new Map<string, WeakRef<SecureContext>>();
const forgetCollected = new FinalizationRegistry<string>((ca) => {
  if (byCa.get(ca)?.deref() === undefined) byCa.delete(ca);
});
const byTarget = new WeakMap<UpstreamTarget, SecureContext>();
const upgradeAgents = new WeakMap<SecureContext, Agent>();

/** The upstream's trust store, or undefined when it trusts the public roots only (Node's default context). */
export function trustContextOf(target: UpstreamTarget): SecureContext | undefined {
  if (target.ca === undefined) return undefined;
  let context = byTarget.get(target);
  if (context === undefined) {
    context = byCa.get(target.ca)?.deref();
    if (context === undefined) {
      context = createSecureContext({ ca: [...rootCertificates, target.ca] });
      byCa.set(target.ca, new WeakRef(context));
      forgetCollected.register(context, target.ca);
    }
    byTarget.set(target, context);
  }
  return context;
}

/**
 * An agent for WebSocket upgrades to an upstream with its own CA, or undefined for the public
 * roots. No keep-alive: an upgraded socket leaves the agent, a refused one is closed.
 *
 * One agent per trust store, shared by every upstream that names the same CA. Node lets an
 * agent's options override the request's, so nothing specific to one upstream (servername,
 * checkServerIdentity, rejectUnauthorized) may ever be put here. Like the HTTP pools, the agent
 * resumes TLS sessions: a session is cached per host, port and server name only after its
 * certificate passed verification, and is never offered to another upstream.
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
