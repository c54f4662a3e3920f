/**
 * Durations as the configuration and the command line write them: `500ms`, `30s`, `5m`, `1h`,
 * `30d` (one integer and one unit, no spaces, no mixing).
 */
import { DURATION_PATTERN } from './schema.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Largest unit first, for `formatDuration`. */
const UNITS_DESCENDING: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

/**
 * Milliseconds in a duration such as `500ms`, `30s`, `5m`, `1h` or `30d`.
 * @throws TypeError when the text is not one integer followed by one of those units, or when
 *   the result is not a safe integer.
 */
export function parseDuration(text: string): number {
  const match = typeof text === 'string' ? DURATION_PATTERN.exec(text) : null;
  if (match === null) {
    throw new TypeError(`expected a duration such as 500ms, 30s, 5m, 1h or 30d; got ${JSON.stringify(text)}`);
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
  if (!Number.isSafeInteger(ms)) throw new TypeError(`duration ${JSON.stringify(text)} is too large`);
  return ms;
}

/**
 * The shortest exact spelling of a number of milliseconds in the largest unit that divides
 * it: 1800000 → `30m`, 1500 → `1500ms`, 0 → `0ms`.
 * @throws TypeError for a negative or non-integer number.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new TypeError(`expected a non-negative integer number of milliseconds; got ${ms}`);
  if (ms === 0) return '0ms';
  for (const unit of UNITS_DESCENDING) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
