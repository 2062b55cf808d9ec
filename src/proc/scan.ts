/**
 * Character-level scanning shared by the /proc parsers. These run for every process on every sampling tick,
 * so they walk char codes instead of splitting strings or running regexes.
 */

const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const SPACE = 32;
const TAB = 9;

/** Index of the first char at or after `from` that is neither a space nor a tab. */
export function skipBlanks(text: string, from: number): number {
  let i = from;
  for (let c = text.charCodeAt(i); c === SPACE || c === TAB; c = text.charCodeAt(++i));
  return i;
}

/**
 * The decimal integer (optionally negative) that starts at `from` and runs to the next space, tab or line end.
 * NaN when that token is empty or is not an integer, so callers can say which field was bad.
 */
export function intAt(text: string, from: number): number {
  let i = from;
  const negative = text.charCodeAt(i) === MINUS;
  if (negative) i++;
  const digitsStart = i;
  let value = 0;
  for (let c = text.charCodeAt(i); c >= ZERO && c <= NINE; c = text.charCodeAt(++i)) {
    value = value * 10 + (c - ZERO);
  }
  if (i === digitsStart || !isTokenEnd(text.charCodeAt(i))) return Number.NaN;
  return negative ? -value : value;
}

/** True for the chars that may follow a number in /proc text (and for the end of the text, NaN). */
function isTokenEnd(c: number): boolean {
  return c === SPACE || c === TAB || c === 10 || Number.isNaN(c);
}

/** A key that starts a line, e.g. `Threads:`, with its search string built once. */
export interface LineKey {
  readonly key: string;
  readonly needle: string;
}

/** Prepares keys for {@link lineValueOffset}. */
export function lineKeys<const K extends readonly string[]>(...keys: K): { [I in keyof K]: LineKey } {
  return keys.map((key) => ({ key, needle: `\n${key}` })) as { [I in keyof K]: LineKey };
}

/**
 * Offset just past `key` where `key` begins a line of `text`, or -1. Keys are matched at line starts so that
 * `write_bytes:` does not match inside `cancelled_write_bytes:`. The search starts at `from`, because
 * callers look keys up in the order the kernel writes them and a 1.5 KB status file is slow to rescan; the
 * whole text is searched again when the key is not found after `from`.
 */
export function lineValueOffset(text: string, { key, needle }: LineKey, from = 0): number {
  if (text.startsWith(key)) return key.length;
  let at = text.indexOf(needle, from > 0 ? from - 1 : 0);
  if (at < 0 && from > 0) at = text.indexOf(needle);
  return at < 0 ? -1 : at + needle.length;
}
