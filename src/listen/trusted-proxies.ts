/**
 * `trustedProxies` as a BlockList: the peers whose `X-Forwarded-*` headers are believed. Built
 * once per configuration; checked per request.
 */
import { BlockList } from 'node:net';

/** The list, or undefined when no proxy is trusted. Entries were validated by the config schema. */
export function trustedProxyList(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const trusted = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = address.includes(':') ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(prefix), type);
  }
  return trusted;
}

export function isTrustedPeer(list: BlockList | undefined, address: string): boolean {
  return list !== undefined && list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}
