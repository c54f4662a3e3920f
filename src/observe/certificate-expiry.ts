/**
 * The certificates a configuration serves or trusts, with the time each stops being valid, for
 * `portcullis_tls_certificate_expiry_timestamp_seconds`. Computed when a configuration is
 * loaded or reloaded, never at scrape time or on the request path.
 *
 * Labels are bounded by the configuration: `kind` is one of CERTIFICATE_KINDS, `name` the
 * listener (`proxy`, `admin`), the route, or the issuer. A file with several certificates (a
 * chain, a CA bundle) reports the earliest expiry among them: that is when something breaks.
 */
import { X509Certificate } from 'node:crypto';
import type { GatewayConfig } from '../config/types.js';

/** What a certificate is for: served by a listener, trusted for an upstream, trusted for a JWKS URL. */
export const CERTIFICATE_KINDS = ['listener', 'upstream_ca', 'jwks_ca'] as const;
export type CertificateKind = (typeof CERTIFICATE_KINDS)[number];

export interface CertificateExpiry {
  readonly kind: CertificateKind;
  readonly name: string;
  /** notAfter of the earliest-expiring certificate in the file, in Unix seconds. */
  readonly expiresAt: number;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The earliest notAfter in a PEM text, in Unix seconds; undefined when nothing parses. */
export function earliestExpiry(pem: string): number | undefined {
  let earliest: number | undefined;
  for (const block of pem.match(CERTIFICATE_BLOCK) ?? []) {
    try {
      const notAfter = Date.parse(new X509Certificate(block).validTo) / 1000;
      if (Number.isFinite(notAfter) && (earliest === undefined || notAfter < earliest)) earliest = notAfter;
    } catch {
      // The configuration check parsed every certificate; nothing to report for one that does not.
    }
  }
  return earliest;
}

export function certificateExpiries(config: GatewayConfig): CertificateExpiry[] {
  const out: CertificateExpiry[] = [];
  // 10,000 routes naming one CA file parse it once.
  const parsed = new Map<string, number | undefined>();
  const add = (kind: CertificateKind, name: string, pem: string | undefined): void => {
    if (pem === undefined) return;
    let expiresAt = parsed.get(pem);
    if (!parsed.has(pem)) {
      expiresAt = earliestExpiry(pem);
      parsed.set(pem, expiresAt);
    }
    if (expiresAt !== undefined) out.push({ kind, name, expiresAt });
  };
  add('listener', 'proxy', config.tls?.cert);
  add('listener', 'admin', config.admin.tls?.cert);
  for (const route of config.routes) add('upstream_ca', route.name, route.upstream.ca);
  for (const issuer of config.jwt.issuers) add('jwks_ca', issuer.issuer, issuer.jwksCa);
  return out;
}
