/**
 * The node options a process was given in `NODE_OPTIONS`, read as Node reads them: for the
 * checks that look at the options of this process, not only at its command line.
 */

/** NODE_OPTIONS split as Node splits it: on spaces, with double quotes grouping. */
export function splitNodeOptions(text: string | undefined): string[] {
  const out: string[] = [];
  for (const match of (text ?? '').matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)) out.push(match[1] ?? match[2] ?? '');
  return out;
}
