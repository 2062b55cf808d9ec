/**
 * Name patterns of chaos requests: `*` matches any run of characters (also none), `?` exactly one,
 * everything else itself. Hand-written instead of a translation to RegExp: V8's backtracking regex
 * engine takes exponential time on patterns like `****************b` (a request froze the event loop
 * for seconds with 16 stars and would take years with the 64 a request may send). This matcher walks
 * the name once per pattern segment and never backtracks further than the last star, so it does at
 * most |name| x |pattern| steps, whatever the pattern (at most 15 x 64 for a process name).
 */

/** A compiled pattern: call it with a name. */
export type GlobMatcher = (name: string) => boolean;

/** True when `pattern` contains no wildcard (it names processes exactly). */
export function isExactPattern(pattern: string): boolean {
  return !pattern.includes('*') && !pattern.includes('?');
}

/**
 * Steps (character comparisons) one match takes, for tests that check the bound without timing it.
 * @internal
 */
export const globStats = { steps: 0 };

/** Compiles `pattern` once; runs of stars are collapsed, which does not change what it matches. */
export function compileGlob(pattern: string): GlobMatcher {
  const compact = pattern.replace(/\*{2,}/g, '*');
  return (name) => matchGlob(compact, name);
}

/**
 * Matches `name` against `pattern` (stars already collapsed or not). The classic greedy algorithm with
 * one saved position: on a mismatch after a star, the star takes one more character and the rest of the
 * pattern is tried again from there. Each retry starts one character further into the name, so the work
 * is bounded by |name| x |pattern|.
 */
export function matchGlob(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    globStats.steps++;
    const c = pattern[p];
    if (c === '*') {
      // Skip a run of stars: they match what one star matches.
      while (pattern[p] === '*') p++;
      if (p === pattern.length) return true;
      starP = p;
      starN = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
