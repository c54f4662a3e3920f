/**
 * `${NAME}` substitution in configuration strings (docs/configuration.md).
 *
 * - `${NAME}` is replaced by the value of environment variable NAME (letters, digits and `_`,
 *   not starting with a digit). A variable set to the empty string substitutes as empty.
 * - An unset variable is an error, never an empty string.
 * - `$${` writes a literal `${`. A `$` not followed by `{` is kept as is.
 * - Substituted text is not scanned again (no recursive expansion).
 */

/** A problem inside one string: `index` is the offset of the offending `${` in the string. */
export interface ExpansionProblem {
  readonly index: number;
  readonly message: string;
}

/** The expanded string, and every problem found (the string is only usable when there are none). */
export interface Expansion {
  readonly value: string;
  readonly problems: readonly ExpansionProblem[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replace every `${NAME}` in `text` from `env`; see the module comment for the rules. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): Expansion {
  const problems: ExpansionProblem[] = [];
  let out = '';
  let from = 0;
  for (;;) {
    const dollar = text.indexOf('$', from);
    if (dollar < 0) break;
    if (text.startsWith('$${', dollar)) {
      out += `${text.slice(from, dollar)}\${`;
      from = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      out += text.slice(from, dollar + 1);
      from = dollar + 1;
      continue;
    }
    out += text.slice(from, dollar);
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) {
      problems.push({ index: dollar, message: 'unterminated "${"; expected ${NAME} (write $${ for a literal "${")' });
      out += text.slice(dollar);
      from = text.length;
      break;
    }
    const name = text.slice(dollar + 2, close);
    const value = env[name];
    if (!NAME.test(name)) {
      problems.push({
        index: dollar,
        message: `invalid variable name ${JSON.stringify(name)} in "\${${name}}"; expected letters, digits and "_", not starting with a digit (write $\${ for a literal "\${")`,
      });
    } else if (value === undefined) {
      problems.push({
        index: dollar,
        message: `environment variable ${name} is not set (an unset variable is an error, not an empty string)`,
      });
    } else {
      out += value;
    }
    from = close + 1;
  }
  out += text.slice(from);
  return { value: out, problems };
}
