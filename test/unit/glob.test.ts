/**
 * Chaos name patterns: the matcher agrees with a reference on every generated pattern and name, and
 * its work is bounded by |name| x |pattern| whatever the pattern (runs of stars took V8's regex engine
 * exponential time).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileGlob, globStats, isExactPattern, matchGlob } from '../../src/engine/glob.ts';

/** Reference semantics by dynamic programming over (pattern position, name position). */
function reference(pattern: string, name: string): boolean {
  const rows = pattern.length + 1;
  const cols = name.length + 1;
  const ok: boolean[][] = Array.from({ length: rows }, () => new Array<boolean>(cols).fill(false));
  (ok[pattern.length] as boolean[])[name.length] = true;
  for (let p = pattern.length - 1; p >= 0; p--) {
    for (let n = name.length; n >= 0; n--) {
      const c = pattern[p];
      const row = ok[p] as boolean[];
      const next = ok[p + 1] as boolean[];
      if (c === '*') row[n] = (next[n] as boolean) || (n < name.length && (row[n + 1] as boolean));
      else row[n] = n < name.length && (c === '?' || c === name[n]) && (next[n + 1] as boolean);
    }
  }
  return (ok[0] as boolean[])[0] as boolean;
}

// Small alphabets make matches and near-misses frequent.
const nameChar = fc.constantFrom('a', 'b', '-', '1');
const patternChar = fc.constantFrom('a', 'b', '-', '1', '*', '?');
const names = fc.array(nameChar, { maxLength: 15 }).map((chars) => chars.join(''));
const patterns = fc.array(patternChar, { minLength: 1, maxLength: 64 }).map((chars) => chars.join(''));

test('matches exactly what the reference matches, for generated patterns and names', () => {
  fc.assert(
    fc.property(patterns, names, (pattern, name) => {
      assert.equal(matchGlob(pattern, name), reference(pattern, name), `${pattern} vs ${name}`);
      assert.equal(compileGlob(pattern)(name), reference(pattern, name), `${pattern} vs ${name}`);
    }),
    { numRuns: 20_000 },
  );
});

test('names built to match a pattern are matched', () => {
  // Each wildcard replaced by some characters: the name matches by construction.
  const built = fc.array(
    fc.oneof(
      nameChar.map((c) => ({ pattern: c, name: c })),
      nameChar.map((c) => ({ pattern: '?', name: c })),
      fc.array(nameChar, { maxLength: 3 }).map((chars) => ({ pattern: '*', name: chars.join('') })),
    ),
    { minLength: 1, maxLength: 12 },
  );
  fc.assert(
    fc.property(built, (parts) => {
      const pattern = parts.map((part) => part.pattern).join('');
      const name = parts.map((part) => part.name).join('');
      assert.ok(matchGlob(pattern, name), `${pattern} should match ${name}`);
    }),
    { numRuns: 5000 },
  );
});

test('the work per match is bounded by |name| x |pattern|, whatever the pattern', () => {
  const worst = (pattern: string, name: string) => {
    globStats.steps = 0;
    matchGlob(pattern, name);
    assert.ok(
      globStats.steps <= (name.length + 1) * (pattern.length + 1),
      `${globStats.steps} steps for ${JSON.stringify(pattern)} against ${JSON.stringify(name)}`,
    );
  };
  // The patterns that froze the event loop: runs of stars before a character the name lacks.
  worst('****************b', 'aaaaaaaaaaaaaaa');
  worst(`${'*'.repeat(63)}b`, 'a'.repeat(15));
  worst('*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(15));
  fc.assert(
    fc.property(patterns, names, (pattern, name) => worst(pattern, name)),
    { numRuns: 20_000 },
  );
});

test('a pattern without wildcards is exact', () => {
  assert.equal(isExactPattern('nginx-worker'), true);
  assert.equal(isExactPattern('nginx-*'), false);
  assert.equal(isExactPattern('nginx-?'), false);
  assert.equal(matchGlob('nginx-worker', 'nginx-worker'), true);
  assert.equal(matchGlob('nginx-worker', 'nginx-worker2'), false);
  assert.equal(matchGlob('nginx.worker', 'nginx-worker'), false, 'a dot is literal');
});
