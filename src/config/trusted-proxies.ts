/**
 * `trustedProxies`, compiled once per configuration: the entries as written (lower-cased) for
 * comparison on reload, and a lookup the request path asks for each peer address.
 */
import { BlockList, isIP } from 'node:net';
import type { TrustedProxies } from './types.js';

function family(address: string): 'ipv4' | 'ipv6' {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/**
 * A class so that the lookup sits on the prototype and the list in a private field: the reload
 * plan compares configurations by their own keys, and two lists with the same entries must
 * compare equal (src/config/reload-plan.ts).
 */
class CompiledTrustedProxies implements TrustedProxies {
  readonly entries: readonly string[];
  readonly #list: BlockList | undefined;

  constructor(entries: readonly string[]) {
    this.entries = Object.freeze([...entries]);
    if (entries.length === 0) return;
    const list = new BlockList();
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      if (isIP(address) === 0) throw new TypeError(`compileTrustedProxies: unvalidated entry ${JSON.stringify(entry)}`);
      if (prefix === undefined) list.addAddress(address, family(address));
      else list.addSubnet(address, Number(prefix), family(address));
    }
    this.#list = list;
  }

  has(address: string): boolean {
    return this.#list !== undefined && this.#list.check(address, family(address));
  }
}

/** Entries were checked by `validateConfig` (values.ts `parseCidr`): IP addresses or CIDRs. */
export function compileTrustedProxies(entries: readonly string[]): TrustedProxies {
  return new CompiledTrustedProxies(entries);
}
