/**
 * What an account owner's token may do on the admin API (docs/credentials.md "Account owners"):
 * list, create, rotate and revoke the tokens of its own account, and create them no wider than
 * both its own effective scope and the account's current scope. Every other endpoint, and every
 * call about another account, is refused with 403 `admin.owner_forbidden`. The rules run before
 * the operation, against the store's current state (not a cached one).
 */
import { narrowerScope } from '../credentials/scope.js';
import type { AccountRecord, TokenRecord } from '../credentials/store.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';
import { requireScope } from './operations.js';

/** What the rules read from the store. */
export interface OwnerLookups {
  token(id: string): Promise<TokenRecord | undefined>;
  account(name: string): Promise<AccountRecord | undefined>;
}

/** One call as the rules see it; `body` and `query` may be narrowed in place. */
export interface OwnerCall {
  readonly params: readonly string[];
  readonly body: Record<string, unknown>;
  readonly query: URLSearchParams;
}

/** Throws when the owner may not make this call; may narrow it (the account filter). */
export type OwnerRule = (owner: Principal & { readonly account: string }, call: OwnerCall, lookups: OwnerLookups) => Promise<void>;

export function ownerForbidden(detail: string): GatewayError {
  return new GatewayError('admin.owner_forbidden', detail);
}

async function requireOwnToken(owner: { readonly account: string }, id: string | undefined, lookups: OwnerLookups): Promise<TokenRecord> {
  const token = id === undefined ? undefined : await lookups.token(id);
  // The same answer for a token of another account and for no token: an owner learns nothing
  // about ids outside its account.
  if (token === undefined || token.account !== owner.account)
    throw ownerForbidden(`An account owner manages only the tokens of account ${owner.account}.`);
  return token;
}

export const OWNER_RULES = {
  // eslint-disable-next-line @typescript-eslint/require-await -- every rule is async (the others look tokens up); this one needs no lookup
  tokensList: async (owner, call) => {
    const asked = call.query.getAll('account');
    if (asked.some((name) => name !== owner.account))
      throw ownerForbidden(`An account owner sees only the tokens of account ${owner.account}.`);
    call.query.set('account', owner.account);
  },
  tokensCreate: async (owner, call, lookups) => {
    const { body } = call;
    if (body.account !== undefined && body.account !== null && body.account !== owner.account) {
      throw ownerForbidden(`An account owner creates tokens for account ${owner.account} only.`);
    }
    if (body.owner !== undefined && body.owner !== false) throw ownerForbidden('Only an admin issues owner tokens.');
    body.account = owner.account;
    const wanted = requireScope(body.scope);
    const account = await lookups.account(owner.account);
    if (account === undefined || account.disabled) throw ownerForbidden(`Account ${owner.account} is disabled or gone.`);
    const limit = narrowerScope(owner.scope, account.scope);
    if (narrowerScope(wanted, limit) !== wanted) {
      throw ownerForbidden(`scope ${wanted} is wider than account ${owner.account} allows now (at most ${limit}).`);
    }
  },
  tokensRevoke: async (owner, call, lookups) => {
    await requireOwnToken(owner, call.params[0], lookups);
  },
  // A rotation hands the caller the token's new secret: it is as good as minting that token, so the
  // minting limits apply (no other owner token, nothing wider than the owner may create now).
  tokensRotate: async (owner, call, lookups) => {
    const token = await requireOwnToken(owner, call.params[0], lookups);
    if (token.owner && token.id !== owner.credentialId) throw ownerForbidden('Only an admin rotates another owner token.');
    const account = await lookups.account(owner.account);
    if (account === undefined || account.disabled) throw ownerForbidden(`Account ${owner.account} is disabled or gone.`);
    const limit = narrowerScope(owner.scope, account.scope);
    if (narrowerScope(token.scope, limit) !== token.scope) {
      throw ownerForbidden(
        `The token's scope ${token.scope} is wider than account ${owner.account} lets this owner mint (at most ${limit}).`,
      );
    }
  },
} as const satisfies Record<string, OwnerRule>;
