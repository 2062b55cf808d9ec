/**
 * The strict JSON reader against JSON.parse on generated texts: it accepts what JSON.parse accepts
 * (building the same value) unless a key is given twice or the nesting passes the limit, it refuses
 * what JSON.parse refuses, and its messages never quote the text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { JsonInputError, parseStrictJson } from '../../src/json/strict-parse.ts';

const LIMIT = 32;
const SECRET = 'S3CRET-line';

/** How deep `value` nests containers. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [item, depth] = entry;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const refusal = (text: string, limit = LIMIT): JsonInputError | undefined => {
  try {
    parseStrictJson(text, limit);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof JsonInputError, `a JsonInputError, got ${error}`);
    return error;
  }
};

/** Whitespace JSON allows between tokens. */
const whitespace = fc.constantFrom('', ' ', '\n', '\t', '\r\n', '  \n  ');

describe('strict JSON', () => {
  test('builds the value JSON.parse builds, whatever the layout', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.constantFrom(0, 1, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        assert.deepEqual(parseStrictJson(text, LIMIT), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  test('refuses what JSON.parse refuses, by line and column, quoting nothing', () => {
    const mutated = fc
      .tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
      .map(([value, at, insert, remove]) => {
        const text = JSON.stringify({ password: SECRET, value });
        const cut = at % (text.length + 1);
        return text.slice(0, cut) + insert + text.slice(cut + remove);
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ maxLength: 40 })), (text) => {
        let expected: unknown;
        let parses = true;
        try {
          expected = JSON.parse(text);
        } catch {
          parses = false;
        }
        const error = refusal(text);
        if (!parses) {
          assert.equal(error?.reason, 'syntax', `${JSON.stringify(text)} is refused`);
          assert.match(error.message, / at line \d+, column \d+$/);
          assert.ok(!error.message.includes(SECRET.slice(0, 6)), error.message);
          const lines = text.split('\n');
          assert.ok(error.line >= 1 && error.line <= lines.length);
          assert.ok(error.column >= 1 && error.column <= (lines[error.line - 1]?.length ?? 0) + 1);
        } else if (error) {
          // accepted by JSON.parse: only our two extra rules may refuse it
          assert.ok(error.reason === 'duplicate_key' || error.reason === 'too_deep', error.message);
        } else {
          assert.deepEqual(parseStrictJson(text, LIMIT), expected);
        }
      }),
      {
        numRuns: 2000,
        // The key "" given twice, then a string left open: no JSON, refused as such, not for the duplicate.
        examples: [['{"password":"S3CRET-line","value":{"":""," ":"  ",""     ":false}}']],
      },
    );
  });

  test('nesting: up to the limit is read, one level more is refused with the path to it', () => {
    const level = fc.record({ kind: fc.constantFrom('array', 'object'), key: fc.string({ maxLength: 6 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: LIMIT - 3, max: LIMIT + 3 }),
        fc.array(level, { minLength: LIMIT + 3, maxLength: LIMIT + 3 }),
        whitespace,
        (depth, levels, space) => {
          let text = '1';
          for (const { kind, key } of levels.slice(0, depth).reverse()) {
            text =
              kind === 'array'
                ? `[${space}${text}${space}]`
                : `{${space}${JSON.stringify(key)}${space}:${space}${text}${space}}`;
          }
          const error = refusal(text);
          if (depth <= LIMIT) {
            assert.equal(error, undefined, `depth ${depth} is read`);
            assert.equal(depthOf(parseStrictJson(text, LIMIT)), depth);
            return;
          }
          assert.equal(error?.reason, 'too_deep');
          assert.equal(error.maxDepth, LIMIT);
          const expectedPath = levels.slice(0, LIMIT).map(({ kind, key }) => (kind === 'array' ? 0 : key));
          assert.deepEqual(error.path, expectedPath);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('5,000 and 1,000,000 levels are refused without recursion', () => {
    for (const depth of [5_000, 1_000_000]) {
      const error = refusal('['.repeat(depth) + ']'.repeat(depth));
      assert.equal(error?.reason, 'too_deep');
      assert.equal(error.path.length, LIMIT);
    }
  });

  test('a key given twice is refused at any depth and position, named with its path', () => {
    const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('name', '__proto__', 'a.b', ''));
    const step = fc.oneof(
      fc.record({ kind: fc.constant('array' as const), before: fc.nat({ max: 2 }) }),
      fc.record({ kind: fc.constant('object' as const), key, before: fc.nat({ max: 2 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 6 }),
        fc.uniqueArray(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.jsonValue({ maxDepth: 2 }),
        (steps, keys, which, where, escaped, filler) => {
          const duplicated = keys[which % keys.length] as string;
          const entries = keys.map((k) => [JSON.stringify(k), JSON.stringify(filler)]);
          // the second spelling may use \u escapes: still the same key
          const spelled = escaped
            ? `"${[...duplicated].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(duplicated);
          entries.splice((where % entries.length) + 1, 0, [spelled, '0']);
          let text = `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`;
          const path: Array<string | number> = [];
          for (const s of [...steps].reverse()) {
            const siblings = Array.from({ length: s.before }, (_, i) =>
              s.kind === 'array' ? 'null' : `"s${i}":null`,
            );
            text =
              s.kind === 'array'
                ? `[${[...siblings, text].join(',')}]`
                : `{${[...siblings, `${JSON.stringify(s.key)}:${text}`].join(',')}}`;
          }
          for (const s of steps) path.push(s.kind === 'array' ? s.before : s.key);
          const error = refusal(text);
          assert.equal(error?.reason, 'duplicate_key', JSON.stringify({ text, error }));
          // The same text cut short is no JSON: refused for that, duplicate or not.
          assert.equal(refusal(text.slice(0, -1))?.reason, 'syntax', text.slice(0, -1));
          // A step's key may be one of its siblings' names ("s0" before it): the outermost such pair is
          // the duplicate found first, since an object's earlier keys are read before its later values.
          const collision = steps.findIndex(
            (s) => s.kind === 'object' && /^s\d$/.test(s.key) && Number(s.key.slice(1)) < s.before,
          );
          if (collision >= 0) {
            assert.equal(
              error.key,
              (steps[collision] as { key: string }).key,
              JSON.stringify({ text, error }),
            );
            assert.deepEqual(error.path, path.slice(0, collision));
            return;
          }
          assert.equal(error.key, duplicated);
          assert.deepEqual(error.path, path);
        },
      ),
      { numRuns: 500 },
    );
  });
});
