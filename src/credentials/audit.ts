/**
 * The audit trail's vocabulary (docs/audit.md): who made a change, what it was, the entry as the
 * store keeps it. Every change made through a door (the `portcullis` CLI, the admin API and the
 * console over it) is recorded in the store, in the same transaction as the change itself
 * (docs/decisions/0021-audit-trail.md); the database refuses to update or delete an entry.
 *
 * An entry never holds a secret: details are built by the store from named, non-secret fields,
 * and an entry whose details contain anything shaped like a Portcullis secret is refused.
 */

/** The kinds of actor: a credential presented to the admin API, or an operator at the CLI. */
export const AUDIT_ACTOR_KINDS = {
  credential: 'credential',
  cli: 'cli',
} as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[keyof typeof AUDIT_ACTOR_KINDS];

/** Who made a change; given by the door to every mutating operation. */
export interface AuditActor {
  readonly kind: AuditActorKind;
  /** `credential:<credential id>` (never a secret) or `cli:<operating-system user>`. */
  readonly actor: string;
  /** The caller's address as the admin listener saw it; null for the CLI. */
  readonly address: string | null;
}

/** The actions recorded. Public names: added, never renamed. */
export const AUDIT_ACTIONS = {
  accountCreate: 'account.create',
  accountSetScope: 'account.set_scope',
  accountDisable: 'account.disable',
  accountEnable: 'account.enable',
  tokenCreate: 'token.create',
  tokenRotate: 'token.rotate',
  tokenRevoke: 'token.revoke',
  tokenSetExpiry: 'token.set_expiry',
  tokenDeprecate: 'token.deprecate',
  tokenUndeprecate: 'token.undeprecate',
  clientCreate: 'client.create',
  clientRotateSecret: 'client.rotate_secret',
  clientRevoke: 'client.revoke',
  clientDeprecate: 'client.deprecate',
  clientUndeprecate: 'client.undeprecate',
  signingKeyRotate: 'signing_key.rotate',
  /** The active key's private part re-encrypted (`portcullis keys rekey`); the key is unchanged. */
  signingKeyRekey: 'signing_key.rekey',
  /** `portcullis store copy`: recorded in the target after the copied history. */
  storeCopy: 'store.copy',
} as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[keyof typeof AUDIT_ACTIONS];

/** Details of an entry: plain JSON values, never a secret. */
export type AuditDetails = Readonly<Record<string, string | number | boolean | null>>;

/** One entry of the audit trail as the store returns it. */
export interface AuditEntry {
  /** Increasing; never reused. */
  readonly id: number;
  /** When the change was made (commit time of its transaction, from the writer's clock), epoch ms. */
  readonly at: number;
  readonly actor: string;
  readonly actorKind: AuditActorKind;
  readonly action: string;
  /** The id of what changed (tok_…, cli_…, an account name, a kid), or null. */
  readonly target: string | null;
  readonly address: string | null;
  readonly details: AuditDetails;
}

/** Input of `appendAudit`, for changes that are not a store mutation (a store copy). */
export interface NewAuditEntry {
  readonly actor: AuditActor;
  readonly action: AuditAction;
  readonly target: string | null;
  readonly details?: AuditDetails;
}

/** Filter of `listAudit`. Entries come newest first. */
export interface AuditFilter {
  /** Only entries at or after this instant (epoch ms). */
  readonly sinceMs?: number;
  /** At most this many entries: 1-1000, default 100. */
  readonly limit?: number;
  /** Only this actor (`credential:tok_…`, `cli:alice`). */
  readonly actor?: string;
  /** Only this action (`token.create`). */
  readonly action?: string;
}

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

/** The actor of a change made through the admin API with the credential `credentialId`. */
export function credentialActor(credentialId: string, address: string | null): AuditActor {
  return { kind: AUDIT_ACTOR_KINDS.credential, actor: `credential:${credentialId}`, address };
}

/** The actor of a change made at the command line by the operating-system user `user`. */
export function cliActor(user: string): AuditActor {
  return { kind: AUDIT_ACTOR_KINDS.cli, actor: `cli:${user}`, address: null };
}

/**
 * Anything shaped like a Portcullis secret (API token `pcl_…`, client secret `pcs_…`) or a
 * private JWK member: a caller bug that must not reach the append-only log, where it could never
 * be erased.
 */
const SECRET_SHAPES = /pc[ls]_[0-9A-Za-z]{20,}|"d"\s*:/;

/** Whether `text` holds something shaped like a secret (audit details, actor, target). */
export function looksSecret(text: string): boolean {
  return SECRET_SHAPES.test(text);
}
