/**
 * Deprecations in the configuration (`routes[].deprecated.<scheme>`, `jwt.issuers[].deprecated`):
 * semantic checks (real instants, sunset after since, a link a header can carry) and compilation
 * to epoch milliseconds.
 */
import { deprecationLinkProblem } from '../rollout/deprecation-link.js';
import type { ConfigPath, Finding } from './issues.js';
import type { DeepPartial } from './partial.js';
import type { RawConfig, RawDeprecation } from './schema.js';
import type { Deprecation } from './types.js';

/** A validated deprecation, in epoch milliseconds. */
export function compileDeprecation(raw: RawDeprecation): Deprecation {
  return Object.freeze({ sinceMs: Date.parse(raw.since), sunsetMs: Date.parse(raw.sunset), link: raw.link });
}

function checkOne(raw: DeepPartial<RawDeprecation> | undefined, path: ConfigPath, findings: Finding[]): void {
  if (raw === undefined) return;
  const since = typeof raw.since === 'string' ? Date.parse(raw.since) : NaN;
  const sunset = typeof raw.sunset === 'string' ? Date.parse(raw.sunset) : NaN;
  if (typeof raw.since === 'string' && Number.isNaN(since))
    findings.push({ path: [...path, 'since'], message: 'not a real date and time (month 1-12, day of that month, hour 0-23)' });
  if (typeof raw.sunset === 'string' && Number.isNaN(sunset))
    findings.push({ path: [...path, 'sunset'], message: 'not a real date and time (month 1-12, day of that month, hour 0-23)' });
  if (!Number.isNaN(since) && !Number.isNaN(sunset) && sunset <= since) {
    findings.push({ path: [...path, 'sunset'], message: `the sunset (${raw.sunset}) must be after "since" (${raw.since})` });
  }
  if (typeof raw.link === 'string') {
    const problem = deprecationLinkProblem(raw.link);
    if (problem !== undefined) findings.push({ path: [...path, 'link'], message: problem });
  }
}

/** Every problem of the deprecations in `parts`. */
export function checkDeprecations(parts: DeepPartial<RawConfig>): Finding[] {
  const findings: Finding[] = [];
  parts.routes?.forEach((route, i) => {
    for (const scheme of ['bearer', 'basic'] as const) checkOne(route?.deprecated?.[scheme], ['routes', i, 'deprecated', scheme], findings);
  });
  parts.jwt?.issuers?.forEach((issuer, i) => checkOne(issuer?.deprecated, ['jwt', 'issuers', i, 'deprecated'], findings));
  return findings;
}
