/**
 * Semantic checks of the settings outside `routes`: listener addresses (and that no two
 * listeners share a port), trusted proxies, the store URL, duration ranges and external JWT
 * issuers.
 */
import { parseDuration, formatDuration } from './durations.js';
import { formatPath, type ConfigPath, type Finding } from './issues.js';
import type { PartialConfig } from './partial.js';
import type { ListenAddress } from './types.js';
import { MAX_MAX_STALENESS_MS, MIN_MAX_STALENESS_MS } from '../credentials/change-feed.js';
import { keyEncryptionKeyProblem } from '../oauth/key-encryption.js';
import { isWildcardHost, parseCidr, parseHttpsUrl, parseListen, parseStoreUrl } from './values.js';

/** The longest timer Node.js honours is 2^31-1 ms (~24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 24 * 86_400_000;

interface DurationRule {
  readonly path: ConfigPath;
  readonly text: string | undefined;
  /** Whether 0 is allowed. */
  readonly zero: boolean;
  /** Whether the value feeds a timer (capped at `MAX_TIMER_MS`). */
  readonly timer: boolean;
}

/** Range check of one duration (its format was checked by the schema). */
export function checkDuration(rule: DurationRule): Finding[] {
  if (rule.text === undefined) return [];
  let ms: number;
  try {
    ms = parseDuration(rule.text);
  } catch (error) {
    return [{ path: rule.path, message: (error as TypeError).message }];
  }
  if (ms === 0 && !rule.zero) return [{ path: rule.path, message: `expected a duration greater than 0; got ${JSON.stringify(rule.text)}` }];
  if (rule.timer && ms > MAX_TIMER_MS) {
    return [
      {
        path: rule.path,
        message: `expected at most ${formatDuration(MAX_TIMER_MS)} (the longest timer Node.js supports); got ${JSON.stringify(rule.text)}`,
      },
    ];
  }
  return [];
}

function durationRules(parts: PartialConfig): DurationRule[] {
  return [
    { path: ['limits', 'headersTimeout'], text: parts.limits?.headersTimeout, zero: false, timer: true },
    { path: ['limits', 'shutdownGrace'], text: parts.limits?.shutdownGrace, zero: true, timer: true },
    { path: ['limits', 'requestTimeout'], text: parts.limits?.requestTimeout, zero: false, timer: true },
    { path: ['limits', 'bodyReadTimeout'], text: parts.limits?.bodyReadTimeout, zero: false, timer: true },
    { path: ['limits', 'upstreamQueueTimeout'], text: parts.limits?.upstreamQueueTimeout, zero: false, timer: true },
    { path: ['limits', 'responseStallTimeout'], text: parts.limits?.responseStallTimeout, zero: false, timer: true },
    { path: ['limits', 'shutdownDelay'], text: parts.limits?.shutdownDelay, zero: true, timer: true },
    { path: ['cache', 'ttl'], text: parts.cache?.ttl, zero: false, timer: false },
    { path: ['cache', 'negativeTtl'], text: parts.cache?.negativeTtl, zero: false, timer: false },
    { path: ['tokens', 'defaultExpiry'], text: parts.tokens?.defaultExpiry, zero: false, timer: false },
    { path: ['oauth', 'tokenTtl'], text: parts.oauth?.tokenTtl, zero: false, timer: false },
    { path: ['oauth', 'leeway'], text: parts.oauth?.leeway, zero: true, timer: false },
  ];
}

/**
 * `cache.maxStaleness` must leave room for two feed polls (250 ms each) and stays within the
 * longest cache TTL: beyond that it would no longer bound anything.
 */
function checkMaxStaleness(text: string | undefined): Finding[] {
  if (text === undefined) return [];
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    return [{ path: ['cache', 'maxStaleness'], message: (error as TypeError).message }];
  }
  if (ms < MIN_MAX_STALENESS_MS || ms > MAX_MAX_STALENESS_MS) {
    return [
      {
        path: ['cache', 'maxStaleness'],
        message: `expected between ${formatDuration(MIN_MAX_STALENESS_MS)} and ${formatDuration(MAX_MAX_STALENESS_MS)}; got ${JSON.stringify(text)}`,
      },
    ];
  }
  return [];
}

/** The KEKs' format (never their value: a message quotes only lengths). */
function checkKeyEncryptionKeys(parts: PartialConfig): Finding[] {
  const findings: Finding[] = [];
  const current = parts.oauth?.keyEncryptionKey;
  if (typeof current === 'string') {
    const problem = keyEncryptionKeyProblem(current);
    if (problem !== undefined) findings.push({ path: ['oauth', 'keyEncryptionKey'], message: problem });
  }
  parts.oauth?.previousKeyEncryptionKeys?.forEach((text, i) => {
    if (typeof text !== 'string') return;
    const problem = keyEncryptionKeyProblem(text);
    if (problem !== undefined) findings.push({ path: ['oauth', 'previousKeyEncryptionKeys', i], message: problem });
  });
  return findings;
}

function checkListeners(parts: PartialConfig, written: (path: ConfigPath) => boolean): Finding[] {
  const findings: Finding[] = [];
  const bound: { path: ConfigPath; address: ListenAddress; text: string }[] = [];
  const listeners: readonly [ConfigPath, string | undefined][] = [
    [['listen'], parts.listen],
    [['admin', 'listen'], parts.admin?.listen],
    [['metrics', 'listen'], parts.metrics?.listen],
  ];
  const describe = (path: ConfigPath, text: string): string => `${formatPath(path)} (${written(path) ? '' : 'default '}"${text}")`;
  for (const [path, text] of listeners) {
    if (text === undefined) continue;
    const parsed = parseListen(text);
    if (!parsed.ok) {
      findings.push({ path, message: parsed.message });
      continue;
    }
    const address = parsed.value;
    const clash = bound.find(
      (other) =>
        address.port !== 0 &&
        other.address.port === address.port &&
        (other.address.host === address.host || isWildcardHost(other.address.host) || isWildcardHost(address.host)),
    );
    if (clash !== undefined) {
      // Report at the listener the file wrote, so the position points at something real.
      const [here, there, thereText] = written(path) || !written(clash.path) ? [path, clash.path, clash.text] : [clash.path, path, text];
      findings.push({
        path: here,
        message: `port ${address.port} is already used by ${describe(there, thereText)}; each listener needs its own port`,
      });
    }
    bound.push({ path, address, text });
  }
  return findings;
}

function checkIssuers(parts: PartialConfig): Finding[] {
  const findings: Finding[] = [];
  const seen = new Map<string, number>();
  parts.jwt?.issuers?.forEach((issuer, i) => {
    if (issuer?.jwksUrl !== undefined) {
      const url = parseHttpsUrl(issuer.jwksUrl, 'jwksUrl');
      if (!url.ok) findings.push({ path: ['jwt', 'issuers', i, 'jwksUrl'], message: url.message });
    }
    if (issuer?.issuer === undefined) return;
    const first = seen.get(issuer.issuer);
    if (first !== undefined) {
      findings.push({
        path: ['jwt', 'issuers', i, 'issuer'],
        message: `duplicate issuer ${JSON.stringify(issuer.issuer)}; already configured at jwt.issuers[${first}]`,
      });
    } else {
      seen.set(issuer.issuer, i);
    }
  });
  return findings;
}

/**
 * Every problem in the settings outside `routes`. `baseDir` is the config file's directory;
 * `written` tells a value from the file apart from a default.
 */
export function checkSettings(parts: PartialConfig, baseDir: string, written: (path: ConfigPath) => boolean): Finding[] {
  const findings = checkListeners(parts, written);
  parts.trustedProxies?.forEach((text, i) => {
    if (text === undefined) return;
    const parsed = parseCidr(text);
    if (!parsed.ok) findings.push({ path: ['trustedProxies', i], message: parsed.message });
  });
  if (parts.store?.url !== undefined) {
    const parsed = parseStoreUrl(parts.store.url, baseDir);
    if (!parsed.ok) findings.push({ path: ['store', 'url'], message: parsed.message });
  }
  for (const rule of durationRules(parts)) findings.push(...checkDuration(rule));
  findings.push(...checkMaxStaleness(parts.cache?.maxStaleness));
  findings.push(...checkKeyEncryptionKeys(parts));
  findings.push(...checkIssuers(parts));
  return findings;
}
