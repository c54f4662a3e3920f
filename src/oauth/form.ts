/**
 * Strict reading of OAuth request bodies: the `application/x-www-form-urlencoded` media type
 * (RFC 9110 §8.3.1, parameters allowed, optional whitespace around `;`, which partner systems
 * send: docs/oauth.md "Request") and the form itself (RFC 6749 §3.2, Appendix B).
 *
 * Stricter than URLSearchParams on purpose: invalid percent-encoding, bytes that are not UTF-8,
 * empty names and repeated parameters are refused rather than guessed at, so that two readers of
 * the same body cannot disagree about what was asked.
 */

/** Largest token request body read, in bytes (a client_credentials request is under 300). */
export const MAX_FORM_BYTES = 16 * 1024;
/** Most parameters accepted in one body. */
export const MAX_FORM_PARAMETERS = 32;

/** Why a body or media type was refused. `detail` never contains request data. */
export class FormError extends Error {
  override readonly name = 'FormError';
}

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** OWS = *( SP / HTAB ). */
const OWS = /^[ \t]*|[ \t]*$/g;

function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return TOKEN.test(value) ? value : undefined;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110 §5.6.4)
  const inner = value.slice(1, -1);
  if (!/^(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*$/.test(inner)) return undefined;
  return inner.replace(/\\(.)/g, '$1');
}

/**
 * Whether a Content-Type value is `application/x-www-form-urlencoded` in UTF-8:
 * `type "/" subtype *( OWS ";" OWS parameter )`, names case-insensitive, `charset` absent or
 * `utf-8` (any case, quoted or not). Throws FormError for a value that is not a media type or
 * names another charset; returns false for another well-formed media type.
 */
export function isFormUrlencoded(contentType: string): boolean {
  const parts = contentType.split(';').map((part) => part.replace(OWS, ''));
  const [essence = '', ...parameters] = parts;
  const slash = essence.indexOf('/');
  if (slash < 1 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) {
    throw new FormError('The Content-Type is not a media type.');
  }
  if (essence.toLowerCase() !== 'application/x-www-form-urlencoded') return false;
  const seen = new Set<string>();
  for (const parameter of parameters) {
    if (parameter === '') continue; // `;` with no parameter is allowed (RFC 9110 §5.6.6)
    const equals = parameter.indexOf('=');
    const name = parameter.slice(0, equals).toLowerCase();
    const value = equals < 1 || !TOKEN.test(name) ? undefined : unquote(parameter.slice(equals + 1));
    if (value === undefined) throw new FormError('The Content-Type has a malformed parameter.');
    if (seen.has(name)) throw new FormError('The Content-Type repeats a parameter.');
    seen.add(name);
    if (name === 'charset' && value.toLowerCase() !== 'utf-8') throw new FormError('The form must be encoded in UTF-8.');
  }
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const PERCENT = /%(?![0-9A-Fa-f]{2})/;

/**
 * Decodes one form-urlencoded component: `+` is a space, `%XX` a byte, and the bytes must be
 * UTF-8. Throws FormError otherwise. Also how Basic credentials of OAuth clients are decoded
 * (RFC 6749 §2.3.1: client id and secret are form-urlencoded before base64).
 */
export function formDecode(component: string): string {
  if (PERCENT.test(component)) throw new FormError('The form has invalid percent-encoding.');
  if (!component.includes('%')) return component.replaceAll('+', ' ');
  const bytes: number[] = [];
  for (let i = 0; i < component.length; i++) {
    const code = component.charCodeAt(i);
    if (code === 0x25 /* % */) {
      bytes.push(Number.parseInt(component.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code === 0x2b /* + */) {
      bytes.push(0x20);
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      bytes.push(...Buffer.from(component[i] ?? '', 'utf8'));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new FormError('The form is not valid UTF-8.');
  }
}

/**
 * Parses a form body into name → value. A parameter sent without a value counts as omitted
 * (RFC 6749 §3.1); one sent twice is refused, even if one copy is empty (RFC 6749 §3.2).
 */
export function parseForm(body: Buffer): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new FormError('The form is not valid UTF-8.');
  }
  const params = new Map<string, string>();
  const seen = new Set<string>();
  if (text === '') return params;
  const pairs = text.split('&');
  if (pairs.length > MAX_FORM_PARAMETERS) throw new FormError(`The form has more than ${MAX_FORM_PARAMETERS} parameters.`);
  for (const pair of pairs) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = formDecode(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : formDecode(pair.slice(equals + 1));
    if (name === '') throw new FormError('The form has a parameter without a name.');
    if (seen.has(name)) throw new FormError('A parameter was sent more than once.');
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return params;
}
