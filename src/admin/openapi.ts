/**
 * The admin API's OpenAPI 3.1 description, served at `GET /openapi.json` on the admin listener.
 */
const scope = { type: 'string', enum: ['read-only', 'read-write', 'admin'] } as const;
const problem = { $ref: '#/components/schemas/Problem' } as const;
const errors = {
  '400': { description: 'Invalid input (admin.invalid_request)', content: { 'application/problem+json': { schema: problem } } },
  '401': { description: 'No or invalid admin token', content: { 'application/problem+json': { schema: problem } } },
  '403': {
    description:
      "The token is not of scope admin (auth.insufficient_scope), an account owner asked for more than its own account's tokens (admin.owner_forbidden), or a console call failed the cross-site checks (console.cross_site)",
    content: { 'application/problem+json': { schema: problem } },
  },
  '404': {
    description: 'No such account, token or client (admin.not_found)',
    content: { 'application/problem+json': { schema: problem } },
  },
  '409': { description: 'Conflict (admin.conflict)', content: { 'application/problem+json': { schema: problem } } },
} as const;
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const deprecateBody = json({
  type: 'object',
  additionalProperties: false,
  required: ['sunset'],
  properties: {
    sunset: {
      type: ['string', 'null'],
      format: 'date-time',
      description: 'RFC 3339 instant from which the credential is refused; null removes the deprecation.',
    },
    since: {
      type: 'string',
      format: 'date-time',
      description: 'When the deprecation takes effect (the Deprecation header). Default: now.',
    },
    link: { type: 'string', description: 'http(s) URL of the migration documentation (Link: <url>; rel="deprecation").' },
  },
});
const graceBody = {
  required: false,
  ...json({
    type: 'object',
    additionalProperties: false,
    properties: { grace: { type: 'string', description: 'How long the old secret keeps working, e.g. 10m. Omitted: it fails at once.' } },
  }),
};

export const ADMIN_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Portcullis admin API',
    version: '1',
    description:
      "Accounts, API tokens, OAuth clients, signing keys and the audit trail. Every call needs `Authorization: Bearer <token of scope admin>`, or an account owner's token for the token endpoints of its own account, or the console's session cookie with `X-CSRF-Token` (docs/console.md). Secrets appear once, in create and rotate answers. Every change is recorded in the audit trail (docs/audit.md).",
  },
  components: {
    securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Problem: {
        type: 'object',
        required: ['status', 'code', 'title', 'requestId'],
        properties: {
          type: { type: 'string' },
          status: { type: 'integer' },
          code: { type: 'string' },
          title: { type: 'string' },
          detail: { type: 'string' },
          requestId: { type: 'string' },
        },
      },
      Account: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          scope,
          disabled: { type: 'boolean' },
          createdAt: { type: 'string', format: 'date-time' },
          disabledAt: { type: ['string', 'null'], format: 'date-time' },
        },
      },
      Token: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          token: { type: 'string', description: 'Only in create and rotate answers.' },
          label: { type: 'string' },
          scope,
          account: { type: ['string', 'null'] },
          expiresAt: { type: ['string', 'null'] },
          createdAt: { type: 'string' },
          lastUsedAt: { type: ['string', 'null'] },
          revokedAt: { type: ['string', 'null'] },
          rotatedAt: { type: ['string', 'null'] },
          previousSecretValidUntil: { type: ['string', 'null'] },
          previousSecretLastUsedAt: { type: ['string', 'null'] },
          owner: { type: 'boolean', description: "An account owner's token: console and admin API only." },
          deprecation: ref('Deprecation'),
        },
      },
      SigningKey: {
        type: 'object',
        description: 'Never private material.',
        properties: {
          kid: { type: 'string' },
          alg: { type: 'string' },
          state: { type: 'string', enum: ['active', 'verifying', 'expired'] },
          createdAt: { type: 'string', format: 'date-time' },
          retiredAt: { type: ['string', 'null'], format: 'date-time' },
          verifiesUntil: {
            type: ['string', 'null'],
            format: 'date-time',
            description: 'Until when tokens it signed verify; null for the active key.',
          },
          encryptedWith: {
            type: ['string', 'null'],
            description: 'The id of the key-encryption key sealing the active key; null in the clear or for a retired key.',
          },
        },
      },
      AuditEntry: {
        type: 'object',
        required: ['id', 'at', 'actor', 'actorKind', 'action', 'target', 'address', 'details'],
        properties: {
          id: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          actor: { type: 'string', description: 'credential:<credential id> (admin API) or cli:<operating-system user>.' },
          actorKind: { type: 'string', enum: ['credential', 'cli'] },
          action: { type: 'string', description: 'account.create, token.revoke, signing_key.rotate, … (docs/audit.md).' },
          target: { type: ['string', 'null'] },
          address: { type: ['string', 'null'], description: "The admin listener's TCP peer; null for the CLI." },
          details: { type: 'object', description: 'What changed, never a secret.' },
        },
      },
      Client: {
        type: 'object',
        properties: {
          client_id: { type: 'string' },
          client_secret: { type: 'string', description: 'Only in create and rotate-secret answers.' },
          name: { type: 'string' },
          scope,
          orgId: { type: ['string', 'null'] },
          technicalAccountId: { type: ['string', 'null'] },
          createdAt: { type: 'string' },
          lastUsedAt: { type: ['string', 'null'] },
          revokedAt: { type: ['string', 'null'] },
          rotatedAt: { type: ['string', 'null'] },
          previousSecretValidUntil: { type: ['string', 'null'] },
          previousSecretLastUsedAt: { type: ['string', 'null'] },
          deprecation: ref('Deprecation'),
        },
      },
      Deprecation: {
        type: ['object', 'null'],
        description: 'Deprecated with a sunset: refused with 401 auth.credential_sunset from `sunset` on.',
        properties: {
          since: { type: 'string', format: 'date-time' },
          sunset: { type: 'string', format: 'date-time' },
          link: { type: ['string', 'null'] },
        },
      },
      DeprecatedCredential: {
        type: 'object',
        properties: {
          kind: { enum: ['token', 'client'] },
          id: { type: 'string' },
          name: { type: 'string' },
          owner: { type: ['string', 'null'] },
          since: { type: 'string' },
          sunset: { type: 'string' },
          link: { type: ['string', 'null'] },
          lastUsedAt: { type: ['string', 'null'] },
          pastSunset: { type: 'boolean' },
        },
      },
    },
  },
  security: [{ adminToken: [] }],
  paths: {
    '/v1/accounts': {
      get: { operationId: 'accountsList', responses: { '200': json({ type: 'array', items: ref('Account') }), ...errors } },
      post: {
        operationId: 'accountsCreate',
        requestBody: json({ type: 'object', required: ['name', 'scope'], properties: { name: { type: 'string' }, scope } }),
        responses: { '201': json(ref('Account')), ...errors },
      },
    },
    '/v1/accounts/{name}/scope': {
      post: {
        operationId: 'accountsSetScope',
        parameters: [idParam('name')],
        requestBody: json({ type: 'object', required: ['scope'], properties: { scope } }),
        responses: { '200': json(ref('Account')), ...errors },
      },
    },
    '/v1/accounts/{name}/disable': {
      post: { operationId: 'accountsDisable', parameters: [idParam('name')], responses: { '200': json(ref('Account')), ...errors } },
    },
    '/v1/accounts/{name}/enable': {
      post: { operationId: 'accountsEnable', parameters: [idParam('name')], responses: { '200': json(ref('Account')), ...errors } },
    },
    '/v1/tokens': {
      get: {
        operationId: 'tokensList',
        parameters: [{ name: 'account', in: 'query', required: false, schema: { type: 'string' } }],
        responses: { '200': json({ type: 'array', items: ref('Token') }), ...errors },
      },
      post: {
        operationId: 'tokensCreate',
        requestBody: json({
          type: 'object',
          required: ['label', 'scope'],
          properties: {
            label: { type: 'string' },
            scope,
            account: { type: 'string' },
            expiresIn: { type: 'string', description: 'e.g. 30d' },
            owner: { type: 'boolean', description: "Issue an account owner's token (admins only; needs account; not admin scope)." },
          },
        }),
        responses: { '201': json(ref('Token')), ...errors },
      },
    },
    '/v1/tokens/{id}/revoke': {
      post: { operationId: 'tokensRevoke', parameters: [idParam('id')], responses: { '200': json(ref('Token')), ...errors } },
    },
    '/v1/tokens/{id}/rotate': {
      post: {
        operationId: 'tokensRotate',
        parameters: [idParam('id')],
        requestBody: graceBody,
        responses: { '200': json(ref('Token')), ...errors },
      },
    },
    '/v1/routes': {
      get: {
        operationId: 'routesList',
        description: 'The loaded routes, read-only: name, match, authentication, access, upstream (no secrets).',
        responses: {
          '200': json({
            type: 'object',
            properties: {
              routes: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    match: {
                      type: 'object',
                      properties: {
                        host: { type: ['string', 'null'] },
                        path: { type: 'string' },
                        methods: { type: ['array', 'null'], items: { type: 'string' } },
                      },
                    },
                    auth: { type: 'string', enum: ['required', 'off'] },
                    access: { type: 'string', enum: ['read-only', 'read-write'] },
                    upstream: { type: 'string' },
                  },
                },
              },
            },
          }),
          ...errors,
        },
      },
    },
    '/v1/tokens/{id}/deprecate': {
      post: {
        operationId: 'tokensDeprecate',
        parameters: [idParam('id')],
        requestBody: deprecateBody,
        responses: { '200': json(ref('Token')), ...errors },
      },
    },
    '/v1/clients': {
      get: { operationId: 'clientsList', responses: { '200': json({ type: 'array', items: ref('Client') }), ...errors } },
      post: {
        operationId: 'clientsCreate',
        requestBody: json({
          type: 'object',
          required: ['name', 'scope'],
          properties: { name: { type: 'string' }, scope, orgId: { type: 'string' }, technicalAccountId: { type: 'string' } },
        }),
        responses: { '201': json(ref('Client')), ...errors },
      },
    },
    '/v1/clients/{id}/revoke': {
      post: { operationId: 'clientsRevoke', parameters: [idParam('id')], responses: { '200': json(ref('Client')), ...errors } },
    },
    '/v1/clients/{id}/rotate-secret': {
      post: {
        operationId: 'clientsRotateSecret',
        parameters: [idParam('id')],
        requestBody: graceBody,
        responses: { '200': json(ref('Client')), ...errors },
      },
    },
    '/v1/signing-keys': {
      get: {
        operationId: 'signingKeysList',
        description: 'Every OAuth signing key, newest first (as `portcullis keys list --json`).',
        responses: { '200': json({ type: 'array', items: ref('SigningKey') }), ...errors },
      },
    },
    '/v1/signing-keys/rotate': {
      post: {
        operationId: 'signingKeysRotate',
        description:
          'A new key, active at once; the previous one keeps verifying until its tokens expire (as `portcullis keys rotate`). 409 admin.conflict when the key-protection policy refuses to store it.',
        responses: {
          '200': json({
            allOf: [ref('SigningKey'), { type: 'object', properties: { previous: { oneOf: [ref('SigningKey'), { type: 'null' }] } } }],
          }),
          ...errors,
        },
      },
    },
    '/v1/audit': {
      get: {
        operationId: 'auditList',
        description: 'The audit trail, newest first.',
        parameters: [
          {
            name: 'since',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'A duration back from now (30m, 1h, 7d) or an ISO-8601 instant.',
          },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          { name: 'actor', in: 'query', required: false, schema: { type: 'string' }, description: 'Only this actor, e.g. cli:alice.' },
          { name: 'action', in: 'query', required: false, schema: { type: 'string' }, description: 'Only this action, e.g. token.revoke.' },
        ],
        responses: {
          '200': json({ type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: ref('AuditEntry') } } }),
          ...errors,
        },
      },
    },
    '/v1/clients/{id}/deprecate': {
      post: {
        operationId: 'clientsDeprecate',
        parameters: [idParam('id')],
        requestBody: deprecateBody,
        responses: { '200': json(ref('Client')), ...errors },
      },
    },
    '/v1/deprecations': {
      get: {
        operationId: 'deprecationsList',
        description: 'Deprecated tokens and clients (not revoked), most recently used first.',
        responses: { '200': json({ type: 'array', items: ref('DeprecatedCredential') }), ...errors },
      },
    },
  },
} as const;
