/**
 * The Portcullis console: sign-in, then one page per resource over the admin API. No framework:
 * the page is built with DOM calls (dom.ts), state lives in memory only (the credential is sent
 * once, in the sign-in body, and forgotten; a new secret is shown once and dropped on "Done").
 */
import { ApiError, call, currentSession, onSessionLost, type SessionInfo, signIn, signOut } from './api.js';
import { byId, clear, field, h, select, when } from './dom.js';
import { clearErrors, showError } from './forms.js';

interface Token {
  id: string;
  label: string;
  scope: string;
  account: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  owner?: boolean;
  token?: string;
  previousSecretValidUntil: string | null;
}
interface Account {
  name: string;
  scope: string;
  disabled: boolean;
  createdAt: string;
}
interface Client {
  client_id: string;
  client_secret?: string;
  name: string;
  scope: string;
  orgId: string | null;
  technicalAccountId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
interface Route {
  name: string;
  match: { host: string | null; path: string; methods: string[] | null };
  auth: string;
  access: string;
  upstream: string;
}
interface SigningKey {
  kid: string;
  alg: string;
  state: string;
  createdAt: string;
  retiredAt: string | null;
  verifiesUntil: string | null;
}
interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actorKind: string;
  action: string;
  target: string | null;
  address: string | null;
  details: Record<string, unknown>;
}

const SCOPE_LABELS: Readonly<Record<string, string>> = { 'read-only': 'Read only', 'read-write': 'Read & write', admin: 'Admin' };
const scopeLabel = (scope: string): string => SCOPE_LABELS[scope] ?? scope;

let session: SessionInfo | undefined;

const PAGES = {
  tokens: { title: 'Tokens', render: renderTokens, owner: true },
  accounts: { title: 'Accounts', render: renderAccounts, owner: false },
  clients: { title: 'OAuth clients', render: renderClients, owner: false },
  routes: { title: 'Routes', render: renderRoutes, owner: false },
  keys: { title: 'Signing keys', render: renderKeys, owner: false },
  audit: { title: 'Audit', render: renderAudit, owner: false },
} as const;
type PageName = keyof typeof PAGES;

function pageFromHash(): PageName {
  const name = location.hash.replace(/^#/, '');
  const page = (name in PAGES ? name : 'tokens') as PageName;
  return session?.owner === true && !PAGES[page].owner ? 'tokens' : page;
}

// ---- sign-in -------------------------------------------------------------------------------

/** The sign-in form; `resume` set: the session expired under an open page, which stays as it is. */
function signInForm(onDone: () => void, resume: boolean): HTMLElement {
  const input = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    resume
      ? h('p', { role: 'status' }, 'Your session has ended. Sign in again: what you typed on the page is kept and sent once you are back.')
      : null,
    field(
      'credential',
      'Credential',
      input,
      'An admin token, or the owner token of your account (pcl_…). It is sent once and never stored by this page.',
    ),
    h('p', { class: 'form-error', tabindex: '-1' }),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const credential = input.value;
    void signIn(credential).then(
      (info) => {
        input.value = '';
        session = info;
        onDone();
      },
      (error: unknown) => {
        input.value = '';
        showError(form, error, { credential: 'credential', token: 'credential' });
      },
    );
  });
  return h('section', { id: 'sign-in', 'aria-labelledby': 'sign-in-title' }, h('h1', { id: 'sign-in-title' }, 'Sign in'), form);
}

/** When a call finds the session gone: the page is hidden (not rebuilt) and shown again after sign-in. */
onSessionLost(
  () =>
    new Promise<void>((resolve) => {
      const main = byId('main');
      const page = byId('page');
      page.hidden = true;
      const form = signInForm(() => {
        form.remove();
        page.hidden = false;
        renderChrome();
        resolve();
      }, true);
      main.prepend(form);
      form.querySelector('input')?.focus();
    }),
);

// ---- chrome --------------------------------------------------------------------------------

function renderChrome(): void {
  const nav = byId('nav');
  const who = byId('who');
  clear(nav);
  clear(who);
  if (session === undefined) {
    nav.hidden = true;
    who.hidden = true;
    return;
  }
  const current = pageFromHash();
  const list = h('ul');
  for (const [name, page] of Object.entries(PAGES)) {
    if (session.owner && !page.owner) continue;
    list.append(h('li', {}, h('a', { href: `#${name}`, 'aria-current': name === current ? 'page' : undefined }, page.title)));
  }
  nav.append(list);
  nav.hidden = false;
  const signOutButton = h('button', { type: 'button', class: 'secondary', id: 'sign-out' }, 'Sign out');
  signOutButton.addEventListener('click', () => {
    void signOut().finally(() => {
      session = undefined;
      location.hash = '';
      void boot();
    });
  });
  who.append(h('span', {}, session.owner ? `Owner of account ${session.account ?? ''}` : `Admin (${session.credentialId})`), signOutButton);
  who.hidden = false;
}

async function showPage(): Promise<void> {
  const main = byId('main');
  clear(main);
  renderChrome();
  const name = pageFromHash();
  // data-hash: which navigation this page answers, so that a test (or a script) that follows a
  // link waits for its page, not the one still shown until the hashchange event arrives.
  const page = h('div', { id: 'page', 'aria-busy': 'true', 'data-hash': location.hash });
  main.append(page);
  document.title = `${PAGES[name].title} · Portcullis console`;
  page.append(h('h1', { id: 'page-title' }, PAGES[name].title));
  await PAGES[name].render(page);
  // For people and tests alike: the page has its data (or the message saying why not).
  page.setAttribute('aria-busy', 'false');
}

async function boot(): Promise<void> {
  session = await currentSession();
  const main = byId('main');
  clear(main);
  renderChrome();
  if (session === undefined) {
    document.title = 'Sign in · Portcullis console';
    main.append(
      signInForm(() => {
        void showPage();
      }, false),
    );
    return;
  }
  await showPage();
}

window.addEventListener('hashchange', () => {
  if (session !== undefined) void showPage();
});
void boot();

// ---- shared pieces -------------------------------------------------------------------------

function table(caption: string, headers: readonly string[], rows: readonly HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', {}, empty);
  return h(
    'table',
    {},
    h('caption', { class: 'hint' }, caption),
    h('thead', {}, h('tr', {}, ...headers.map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, ...rows),
  );
}

function listError(where: HTMLElement, error: unknown): void {
  clear(where);
  where.append(h('p', { class: 'form-error', role: 'alert' }, error instanceof ApiError ? error.message : 'The list cannot be read.'));
}

/** A modal confirmation; resolves true when confirmed. */
function confirmDialog(title: string, text: string, confirmLabel: string, extra?: HTMLElement): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', { id: 'confirm-text' }, text),
      extra ?? null,
    );
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const confirm = h('button', { type: 'button', class: 'danger' }, confirmLabel);
    dialog.append(h('div', { class: 'row' }, confirm, cancel));
    const close = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener('click', () => close(false));
    confirm.addEventListener('click', () => close(true));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** The one place a new secret appears: until "Done", then it is gone from the page and from memory. */
function showSecret(
  where: HTMLElement,
  title: string,
  parts: ReadonlyArray<readonly [label: string, value: string]>,
  secret: string,
  after: HTMLElement | null,
): void {
  clear(where);
  const status = h('p', { class: 'status', role: 'status' });
  const copy = h('button', { type: 'button', id: 'copy-secret' }, 'Copy to clipboard');
  copy.addEventListener('click', () => {
    void navigator.clipboard.writeText(secret).then(
      () => {
        status.textContent = 'Copied to clipboard.';
      },
      () => {
        status.textContent = 'The browser refused the clipboard: select the secret and copy it by hand.';
      },
    );
  });
  const done = h('button', { type: 'button', class: 'secondary' }, 'Done');
  const box = h(
    'section',
    { class: 'card secret', 'aria-labelledby': 'secret-title', id: 'secret-box' },
    h('h2', { id: 'secret-title' }, title),
    ...parts.map(([label, value]) => h('p', {}, `${label}: `, h('strong', {}, value))),
    h('p', { id: 'secret-label' }, 'Secret:'),
    h('code', { id: 'secret-value', 'aria-labelledby': 'secret-label' }, secret),
    h('p', { class: 'warning' }, 'Copy it now: this secret will never be shown again, here or anywhere else.'),
    h('div', { class: 'row' }, copy, done),
    status,
  );
  done.addEventListener('click', () => {
    box.remove();
    after?.focus();
  });
  where.append(box);
  copy.focus();
}

// ---- tokens --------------------------------------------------------------------------------

function tokenStatus(token: Token): string {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

async function renderTokens(page: HTMLElement): Promise<void> {
  const owner = session?.owner === true;
  const ownAccount = session?.account ?? '';
  const secretArea = h('div', { id: 'secret-area' });

  const label = h('input', { type: 'text', autocomplete: 'off', maxlength: '200' });
  const scope = select(
    [['read-only', 'Read only'], ['read-write', 'Read & write'], ...(owner ? [] : [['admin', 'Admin'] as const])],
    'read-only',
  );
  const account = h('input', { type: 'text', autocomplete: 'off', readonly: owner, value: owner ? ownAccount : '' });
  const expires = h('input', { type: 'text', autocomplete: 'off', placeholder: 'e.g. 30d' });
  const createButton = h('button', { type: 'submit' }, 'Create');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-title', novalidate: true },
    h('h2', { id: 'create-title' }, 'Create token'),
    field('token-label', 'Label', label, 'What the token is for, e.g. "ci-reader".'),
    field(
      'token-scope',
      'Scope',
      scope,
      owner ? `At most what account ${ownAccount} may do now.` : 'A token of an account never does more than the account allows.',
    ),
    field('token-account', 'Account', account, owner ? 'Your account.' : 'Optional: the account that owns the token.'),
    field('token-expires', 'Expires in', expires, 'Optional: 30m, 12h, 30d… Empty: the configured default, if any.'),
    h('p', { class: 'form-error', tabindex: '-1' }),
    createButton,
  );

  const statusFilter = select(
    [
      ['all', 'All'],
      ['active', 'Active'],
      ['revoked', 'Revoked'],
      ['expired', 'Expired'],
    ],
    'all',
  );
  const accountFilter = h('input', { type: 'text', autocomplete: 'off', readonly: owner, value: owner ? ownAccount : '' });
  const applyFilter = h('button', { type: 'submit', class: 'secondary' }, 'Filter');
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter tokens' },
    field('filter-account', 'Account', accountFilter),
    field('filter-status', 'Status', statusFilter),
    applyFilter,
  );
  const listArea = h('div', { id: 'token-list', 'aria-live': 'polite' });

  page.append(secretArea, form, h('h2', { id: 'list-title' }, 'Tokens'), filters, listArea);

  async function refresh(): Promise<void> {
    const wanted = accountFilter.value.trim();
    try {
      const tokens = await call<Token[]>('GET', wanted === '' ? '/v1/tokens' : `/v1/tokens?account=${encodeURIComponent(wanted)}`);
      const shown = tokens.filter((t) => statusFilter.value === 'all' || tokenStatus(t) === statusFilter.value);
      clear(listArea);
      listArea.append(
        table(
          'Tokens: secrets are never listed.',
          ['Label', 'Scope', 'Account', 'Created', 'Expires', 'Last used', 'Status', 'Actions'],
          shown.map(tokenRow),
          'No tokens match.',
        ),
      );
    } catch (error) {
      listError(listArea, error);
    }
  }

  function tokenRow(token: Token): HTMLTableRowElement {
    const status = tokenStatus(token);
    const actions = h('td', { class: 'actions' });
    if (status !== 'revoked') {
      const rotate = h('button', { type: 'button', class: 'secondary', 'aria-label': `Rotate token ${token.label}` }, 'Rotate');
      rotate.addEventListener('click', () => {
        void rotateToken(token, rotate);
      });
      const revoke = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${token.label}` }, 'Revoke');
      revoke.addEventListener('click', () => {
        void revokeToken(token);
      });
      actions.append(rotate, revoke);
    }
    return h(
      'tr',
      { 'data-token-id': token.id },
      h('td', {}, token.label, token.owner === true ? ' (owner token)' : ''),
      h('td', {}, scopeLabel(token.scope)),
      h('td', {}, token.account ?? '—'),
      h('td', {}, when(token.createdAt)),
      h('td', {}, token.expiresAt === null ? 'Never' : when(token.expiresAt)),
      h('td', {}, token.lastUsedAt === null ? 'Never' : when(token.lastUsedAt)),
      h('td', { class: `badge-${status}` }, status),
      actions,
    );
  }

  async function rotateToken(token: Token, button: HTMLButtonElement): Promise<void> {
    const grace = select(
      [
        ['', 'None: the old secret stops at once'],
        ['10m', '10 minutes'],
        ['1h', '1 hour'],
        ['24h', '24 hours'],
      ],
      '',
    );
    const wrap = field('rotate-grace', 'Grace period for the old secret', grace);
    if (
      !(await confirmDialog(
        `Rotate token ${token.label}?`,
        'A new secret replaces the current one, which stops working at once or after the grace period.',
        'Rotate',
        wrap,
      ))
    ) {
      button.focus();
      return;
    }
    try {
      const body = grace.value === '' ? {} : { grace: grace.value };
      const rotated = await call<Token>('POST', `/v1/tokens/${encodeURIComponent(token.id)}/rotate`, body);
      if (rotated.token !== undefined)
        showSecret(secretArea, `New secret for ${rotated.label}`, [['Token id', rotated.id]], rotated.token, byId('list-title'));
      await refresh();
    } catch (error) {
      listError(listArea, error);
    }
  }

  async function revokeToken(token: Token): Promise<void> {
    if (
      !(await confirmDialog(
        `Revoke token ${token.label}?`,
        'Revoking cannot be undone: the token stops working everywhere within a second, for good.',
        'Revoke token',
      ))
    )
      return;
    try {
      await call<Token>('POST', `/v1/tokens/${encodeURIComponent(token.id)}/revoke`);
      await refresh();
      byId('list-title').setAttribute('tabindex', '-1');
      byId('list-title').focus();
    } catch (error) {
      listError(listArea, error);
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const body: Record<string, string> = { label: label.value, scope: scope.value };
    if (account.value.trim() !== '') body.account = account.value.trim();
    if (expires.value.trim() !== '') body.expiresIn = expires.value.trim();
    createButton.disabled = true;
    void call<Token>('POST', '/v1/tokens', body)
      .then(
        async (created) => {
          form.reset();
          if (owner) account.value = ownAccount;
          if (created.token !== undefined)
            showSecret(secretArea, `Token ${created.label} created`, [['Token id', created.id]], created.token, label);
          await refresh();
        },
        (error: unknown) => {
          showError(form, error, {
            label: 'token-label',
            scope: 'token-scope',
            account: 'token-account',
            expiresIn: 'token-expires',
            expiry: 'token-expires',
            duration: 'token-expires',
          });
        },
      )
      .finally(() => {
        createButton.disabled = false;
      });
  });
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void refresh();
  });
  await refresh();
}

// ---- accounts ------------------------------------------------------------------------------

async function renderAccounts(page: HTMLElement): Promise<void> {
  const name = h('input', { type: 'text', autocomplete: 'off' });
  const scope = select(
    [
      ['read-only', 'Read only'],
      ['read-write', 'Read & write'],
      ['admin', 'Admin'],
    ],
    'read-only',
  );
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-account-title', novalidate: true },
    h('h2', { id: 'create-account-title' }, 'Create account'),
    field('account-name', 'Name', name, 'Letters, digits and _ . @ - (at most 64).'),
    field('account-scope', 'Scope', scope, 'The most any token of the account may do.'),
    h('p', { class: 'form-error', tabindex: '-1' }),
    h('button', { type: 'submit' }, 'Create account'),
  );
  const listArea = h('div', { 'aria-live': 'polite' });
  page.append(form, h('h2', {}, 'Accounts'), listArea);

  async function refresh(): Promise<void> {
    try {
      const accounts = await call<Account[]>('GET', '/v1/accounts');
      clear(listArea);
      listArea.append(
        table('Accounts', ['Name', 'Scope', 'Status', 'Created', 'Set scope', 'Actions'], accounts.map(row), 'No accounts yet.'),
      );
    } catch (error) {
      listError(listArea, error);
    }
  }
  function row(account: Account): HTMLTableRowElement {
    const newScope = select(
      [
        ['read-only', 'Read only'],
        ['read-write', 'Read & write'],
        ['admin', 'Admin'],
      ],
      account.scope,
    );
    const selectId = `scope-of-${account.name}`;
    newScope.id = selectId;
    const setScope = h('button', { type: 'button', class: 'secondary', 'aria-label': `Set scope of account ${account.name}` }, 'Set scope');
    setScope.addEventListener('click', () => {
      void call('POST', `/v1/accounts/${encodeURIComponent(account.name)}/scope`, { scope: newScope.value }).then(refresh, (e: unknown) =>
        listError(listArea, e),
      );
    });
    const toggle = h(
      'button',
      {
        type: 'button',
        class: account.disabled ? 'secondary' : 'danger',
        'aria-label': `${account.disabled ? 'Enable' : 'Disable'} account ${account.name}`,
      },
      account.disabled ? 'Enable' : 'Disable',
    );
    toggle.addEventListener('click', () => {
      void (async () => {
        if (
          !account.disabled &&
          !(await confirmDialog(
            `Disable account ${account.name}?`,
            'Every token of the account stops working until it is enabled again.',
            'Disable account',
          ))
        )
          return;
        try {
          await call('POST', `/v1/accounts/${encodeURIComponent(account.name)}/${account.disabled ? 'enable' : 'disable'}`);
          await refresh();
        } catch (error) {
          listError(listArea, error);
        }
      })();
    });
    return h(
      'tr',
      {},
      h('td', {}, account.name),
      h('td', {}, scopeLabel(account.scope)),
      h('td', { class: account.disabled ? 'badge-disabled' : 'badge-active' }, account.disabled ? 'disabled' : 'active'),
      h('td', {}, when(account.createdAt)),
      h('td', {}, h('label', { for: selectId, class: 'hint' }, `New scope for ${account.name}`), ' ', newScope, ' ', setScope),
      h('td', { class: 'actions' }, toggle),
    );
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    void call('POST', '/v1/accounts', { name: name.value, scope: scope.value }).then(
      async () => {
        form.reset();
        await refresh();
      },
      (error: unknown) => showError(form, error, { name: 'account-name', account: 'account-name', scope: 'account-scope' }),
    );
  });
  await refresh();
}

// ---- OAuth clients -------------------------------------------------------------------------

async function renderClients(page: HTMLElement): Promise<void> {
  const secretArea = h('div');
  const name = h('input', { type: 'text', autocomplete: 'off' });
  const scope = select(
    [
      ['read-only', 'Read only'],
      ['read-write', 'Read & write'],
    ],
    'read-only',
  );
  const orgId = h('input', { type: 'text', autocomplete: 'off' });
  const techId = h('input', { type: 'text', autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-client-title', novalidate: true },
    h('h2', { id: 'create-client-title' }, 'Create OAuth client'),
    field('client-name', 'Name', name),
    field('client-scope', 'Scope', scope),
    field('client-org', 'Org id', orgId, 'Optional: sent upstream with each request of the client.'),
    field('client-tech', 'Technical account id', techId, 'Optional.'),
    h('p', { class: 'form-error', tabindex: '-1' }),
    h('button', { type: 'submit' }, 'Create client'),
  );
  const listArea = h('div', { 'aria-live': 'polite' });
  page.append(secretArea, form, h('h2', { id: 'clients-title' }, 'Clients'), listArea);

  async function refresh(): Promise<void> {
    try {
      const clients = await call<Client[]>('GET', '/v1/clients');
      clear(listArea);
      listArea.append(
        table(
          'OAuth clients: secrets are never listed.',
          ['Client id', 'Name', 'Scope', 'Org id', 'Technical account id', 'Created', 'Last used', 'Status', 'Actions'],
          clients.map(row),
          'No OAuth clients yet.',
        ),
      );
    } catch (error) {
      listError(listArea, error);
    }
  }
  function row(client: Client): HTMLTableRowElement {
    const actions = h('td', { class: 'actions' });
    if (client.revokedAt === null) {
      const rotate = h(
        'button',
        { type: 'button', class: 'secondary', 'aria-label': `Rotate secret of client ${client.name}` },
        'Rotate secret',
      );
      rotate.addEventListener('click', () => {
        void (async () => {
          if (!(await confirmDialog(`Rotate the secret of ${client.name}?`, 'The current secret stops working at once.', 'Rotate secret')))
            return;
          try {
            const rotated = await call<Client>('POST', `/v1/clients/${encodeURIComponent(client.client_id)}/rotate-secret`, {});
            if (rotated.client_secret !== undefined)
              showSecret(
                secretArea,
                `New secret for ${rotated.name}`,
                [['Client id', rotated.client_id]],
                rotated.client_secret,
                byId('clients-title'),
              );
            await refresh();
          } catch (error) {
            listError(listArea, error);
          }
        })();
      });
      const revoke = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke client ${client.name}` }, 'Revoke');
      revoke.addEventListener('click', () => {
        void (async () => {
          if (
            !(await confirmDialog(
              `Revoke client ${client.name}?`,
              'Revoking cannot be undone: the client and the access tokens it holds stop working.',
              'Revoke client',
            ))
          )
            return;
          try {
            await call('POST', `/v1/clients/${encodeURIComponent(client.client_id)}/revoke`);
            await refresh();
          } catch (error) {
            listError(listArea, error);
          }
        })();
      });
      actions.append(rotate, revoke);
    }
    const status = client.revokedAt === null ? 'active' : 'revoked';
    return h(
      'tr',
      {},
      h('td', {}, h('code', {}, client.client_id)),
      h('td', {}, client.name),
      h('td', {}, scopeLabel(client.scope)),
      h('td', {}, client.orgId ?? '—'),
      h('td', {}, client.technicalAccountId ?? '—'),
      h('td', {}, when(client.createdAt)),
      h('td', {}, client.lastUsedAt === null ? 'Never' : when(client.lastUsedAt)),
      h('td', { class: `badge-${status}` }, status),
      actions,
    );
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const body: Record<string, string> = { name: name.value, scope: scope.value };
    if (orgId.value.trim() !== '') body.orgId = orgId.value.trim();
    if (techId.value.trim() !== '') body.technicalAccountId = techId.value.trim();
    void call<Client>('POST', '/v1/clients', body).then(
      async (created) => {
        form.reset();
        if (created.client_secret !== undefined)
          showSecret(secretArea, `Client ${created.name} created`, [['Client id', created.client_id]], created.client_secret, name);
        await refresh();
      },
      (error: unknown) =>
        showError(form, error, { name: 'client-name', scope: 'client-scope', orgId: 'client-org', technicalAccountId: 'client-tech' }),
    );
  });
  await refresh();
}

// ---- routes, signing keys, audit -------------------------------------------------------------

async function renderRoutes(page: HTMLElement): Promise<void> {
  const area = h('div');
  page.append(h('p', {}, 'The policy as loaded from the configuration file; change it there and reload.'), area);
  try {
    const { routes } = await call<{ routes: Route[] }>('GET', '/v1/routes');
    area.append(
      table(
        'Routes, in the order they are matched.',
        ['Name', 'Host', 'Path', 'Methods', 'Authentication', 'Access', 'Upstream'],
        routes.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, r.name),
            h('td', {}, r.match.host ?? 'any'),
            h('td', {}, h('code', {}, r.match.path)),
            h('td', {}, r.match.methods?.join(', ') ?? 'all'),
            h('td', {}, r.auth === 'off' ? 'off' : 'required'),
            h('td', {}, r.access),
            h('td', {}, h('code', {}, r.upstream)),
          ),
        ),
        'No routes.',
      ),
    );
  } catch (error) {
    listError(area, error);
  }
}

async function renderKeys(page: HTMLElement): Promise<void> {
  const area = h('div', { 'aria-live': 'polite' });
  const rotate = h('button', { type: 'button' }, 'Rotate signing key');
  page.append(
    h(
      'p',
      {},
      'The keys that sign OAuth access tokens. Rotating makes a new active key; the old one keeps verifying the tokens it signed until they expire.',
    ),
    rotate,
    area,
  );
  async function refresh(): Promise<void> {
    try {
      const answer = await call<SigningKey[] | { keys: SigningKey[] }>('GET', '/v1/signing-keys');
      const keys = Array.isArray(answer) ? answer : answer.keys;
      clear(area);
      area.append(
        table(
          'Signing keys, newest first. Private keys are never shown.',
          ['Key id', 'Algorithm', 'State', 'Created', 'Retired', 'Verifies until'],
          keys.map((k) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, k.kid)),
              h('td', {}, k.alg),
              h('td', {}, k.state),
              h('td', {}, when(k.createdAt)),
              h('td', {}, when(k.retiredAt)),
              h('td', {}, when(k.verifiesUntil)),
            ),
          ),
          'No signing keys yet.',
        ),
      );
    } catch (error) {
      listError(area, error);
    }
  }
  rotate.addEventListener('click', () => {
    void (async () => {
      if (
        !(await confirmDialog(
          'Rotate the signing key?',
          'A new key signs from now on; tokens already issued keep verifying until they expire.',
          'Rotate key',
        ))
      )
        return;
      try {
        await call('POST', '/v1/signing-keys/rotate', {});
        await refresh();
      } catch (error) {
        listError(area, error);
      }
    })();
  });
  await refresh();
}

async function renderAudit(page: HTMLElement): Promise<void> {
  const since = select(
    [
      ['1h', 'Last hour'],
      ['24h', 'Last 24 hours'],
      ['7d', 'Last 7 days'],
      ['30d', 'Last 30 days'],
    ],
    '24h',
  );
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter the audit trail' },
    field('audit-since', 'Since', since),
    h('button', { type: 'submit', class: 'secondary' }, 'Show'),
  );
  const area = h('div', { 'aria-live': 'polite' });
  page.append(
    h(
      'p',
      {},
      'Every change made through the command line, the admin API or this console: who, what, when and from where. Secrets never appear here.',
    ),
    filters,
    area,
  );
  async function refresh(): Promise<void> {
    try {
      const { entries } = await call<{ entries: AuditEntry[] }>('GET', `/v1/audit?since=${encodeURIComponent(since.value)}&limit=100`);
      clear(area);
      area.append(
        table(
          'Changes, newest first (at most 100).',
          ['When', 'Who', 'Action', 'Target', 'From', 'Details'],
          entries.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, when(e.at)),
              h('td', {}, e.actor),
              h('td', {}, e.action),
              h('td', {}, e.target ?? '—'),
              h('td', {}, e.address ?? '—'),
              h('td', {}, Object.keys(e.details).length === 0 ? '—' : JSON.stringify(e.details)),
            ),
          ),
          'Nothing changed in this period.',
        ),
      );
    } catch (error) {
      listError(area, error);
    }
  }
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void refresh();
  });
  await refresh();
}
