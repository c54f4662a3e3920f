/**
 * How backends read query parameter names, for the checks that compare them (`_method` on
 * reads, `require.query`). PHP registers a parameter under a name it rewrote
 * (php_register_variable_ex): leading spaces are dropped, the name ends at a NUL, `.` and space
 * become `_`, and `name[...]` is the array `name` (an unclosed `[` becomes `_`). Case-insensitive
 * frameworks (ASP.NET, Spring with a case-insensitive binder) read `Name` as `name`; Rack 2,
 * Python before 3.9.2 and many older parsers split the query at `;` as well as `&`.
 */

/**
 * The name PHP registers `name` (already percent-decoded) under, lower-cased: `" _Method"`,
 * `"_method\0x"`, `"_method[]"` and `"_method."`-style spellings all give `_method`.
 */
export function foldParameterName(name: string): string {
  let folded = name;
  const nul = folded.indexOf('\0');
  if (nul !== -1) folded = folded.slice(0, nul);
  let start = 0;
  while (folded.charCodeAt(start) === 0x20) start++;
  if (start > 0) folded = folded.slice(start);
  const bracket = folded.indexOf('[');
  if (bracket !== -1) {
    // `a[b]` is the array `a`; a `[` never closed is kept as `_` (with what follows).
    folded =
      folded.indexOf(']', bracket + 1) === -1 ? `${folded.slice(0, bracket)}_${folded.slice(bracket + 1)}` : folded.slice(0, bracket);
  }
  // Only the part before a `[` has `.` and space folded (PHP stops there); done after the cut.
  const end = bracket === -1 ? folded.length : bracket;
  let head = folded.slice(0, end);
  if (head.includes('.') || head.includes(' ')) head = head.replace(SPACE_OR_DOT, '_');
  return (head + folded.slice(end)).toLowerCase();
}

const SPACE_OR_DOT = /[. ]/g;

/**
 * The query's parameters as backends may split them: at `&`, and at `;` too when it holds one.
 * Names and values decoded as URLSearchParams does (`+` is a space).
 */
export function queryParameters(search: string): URLSearchParams {
  return new URLSearchParams(search.includes(';') ? search.replaceAll(';', '&') : search);
}
