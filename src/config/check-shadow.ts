/**
 * A warning (not an error) for every route in shadow mode: it forwards every request whatever
 * its credentials say, which is meant while a rollout measures who would be refused and a hole
 * if it is forgotten. `portcullis check` prints it located and exits 0; the gateway logs it at start.
 */
import type { Finding } from './issues.js';
import type { RawRoute } from './schema.js';

export function checkShadowRoutes(routes: readonly RawRoute[]): Finding[] {
  const findings: Finding[] = [];
  routes.forEach((route, index) => {
    if (route.mode !== 'shadow') return;
    findings.push({
      path: ['routes', index, 'mode'],
      message: `warning: route "${route.name}" runs in shadow mode: its authentication and authorization refusals are only logged and counted (portcullis_shadow_refusals_total), and every request is forwarded as on an "auth: off" route. Set "mode: enforce" once nobody would be refused`,
    });
  });
  return findings;
}
