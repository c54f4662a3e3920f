/**
 * The admin API as the page calls it: same origin, the session cookie (HttpOnly: the page never
 * sees it) and the CSRF token kept in memory only. A problem answer becomes an ApiError carrying
 * the API's code and message; whatever else comes back is reported by status, never as a trace.
 */
export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
  readonly requestId?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

export interface SessionInfo {
  readonly credentialId: string;
  readonly account: string | null;
  readonly scope: string;
  readonly owner: boolean;
  readonly csrfToken: string;
}

let csrfToken: string | undefined;
let sessionLost: (() => Promise<void>) | undefined;

/** Called when a call finds the session gone: resolves once the user signed in again. */
export function onSessionLost(handler: () => Promise<void>): void {
  sessionLost = handler;
}

async function problemOf(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body = (await response.json()) as Partial<Problem>;
      if (typeof body.code === 'string') {
        return {
          status: response.status,
          code: body.code,
          title: typeof body.title === 'string' ? body.title : '',
          detail: typeof body.detail === 'string' ? body.detail : undefined,
          requestId: body.requestId,
        };
      }
    } catch {
      // Not the problem+json the API sends: reported by status below.
    }
  }
  return { status: response.status, code: 'console.unexpected_answer', title: `The gateway answered ${response.status}.` };
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError({ status: 0, code: 'console.unreachable', title: 'The gateway cannot be reached.' });
  }
}

/** One API call; a lost session is renewed through sign-in and the call sent again, once. */
export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const response = await send(method, path, body);
    if (response.ok) return (await response.json()) as T;
    const problem = await problemOf(response);
    if (problem.code === 'console.session_required' && attempt === 0 && sessionLost !== undefined) {
      await sessionLost();
      continue;
    }
    throw new ApiError(problem);
  }
}

export async function currentSession(): Promise<SessionInfo | undefined> {
  const response = await send('GET', '/console/session');
  if (!response.ok) return undefined;
  const session = (await response.json()) as SessionInfo;
  csrfToken = session.csrfToken;
  return session;
}

export async function signIn(credential: string): Promise<SessionInfo> {
  const response = await send('POST', '/console/session', { credential });
  if (!response.ok) throw new ApiError(await problemOf(response));
  const session = (await response.json()) as SessionInfo;
  csrfToken = session.csrfToken;
  return session;
}

export async function signOut(): Promise<void> {
  await send('POST', '/console/sign-out');
  csrfToken = undefined;
}
