/**
 * Echoed values stay within their bounds whatever they are: any depth (5,000 levels once overflowed
 * the stack), any width, any string; and a message's description of a value is one short line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { boundedValue, describeValue, ECHO_LIMITS, keyName } from '../../src/json/excerpt.ts';

/** Depth, node count and longest string of a JSON-safe value (iteratively: the input may be deep). */
function measure(value: unknown) {
  let depth = 0;
  let nodes = 0;
  let longest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [item, level] = entry;
    nodes += 1;
    if (typeof item === 'string') longest = Math.max(longest, item.length);
    if (item === null || typeof item !== 'object') continue;
    depth = Math.max(depth, level + 1);
    for (const [key, child] of Object.entries(item)) {
      longest = Math.max(longest, key.length);
      stack.push([child, level + 1]);
    }
  }
  return { depth, nodes, longest };
}

function nested(depth: number, leaf: unknown, kind: 'array' | 'object'): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { k: value };
  return value;
}

/** A cut string carries its length: "…(N characters)" adds at most this many characters. */
const SUFFIX = 30;

test('a bounded copy is JSON-safe and within the limits, however deep, wide or long the value', () => {
  const deep = fc
    .tuple(fc.integer({ min: 0, max: 6000 }), fc.constantFrom<'array' | 'object'>('array', 'object'))
    .map(([depth, kind]) => nested(depth, 'x'.repeat(depth), kind));
  const wide = fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 200 });
  const long = fc.string({ maxLength: 5000 });
  fc.assert(
    fc.property(fc.oneof(deep, wide, long, fc.jsonValue({ maxDepth: 6 })), (value) => {
      const copy = boundedValue(value);
      const text = JSON.stringify(copy);
      assert.equal(typeof text, 'string');
      const { depth, nodes, longest } = measure(copy);
      assert.ok(depth <= ECHO_LIMITS.depth, `depth ${depth}`);
      assert.ok(nodes <= ECHO_LIMITS.nodes + ECHO_LIMITS.items * 2, `nodes ${nodes}`);
      assert.ok(longest <= ECHO_LIMITS.chars + SUFFIX, `longest ${longest}`);
    }),
    { numRuns: 300 },
  );
});

test('a message describes a value in one short line, never quoting a multi-line text or a container', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 3000 }), fc.jsonValue({ maxDepth: 4 })), (value) => {
      const text = describeValue(value);
      assert.ok(!/[\r\n]/.test(text), text);
      assert.ok(text.length <= 40 * 6 + SUFFIX + 4, `${text.length}: ${text}`);
      if (typeof value === 'string' && /[\r\n]/.test(value))
        assert.match(text, /^a text of \d+ characters? on \d+ lines?$/);
      if (value !== null && typeof value === 'object')
        assert.match(text, /^an? (array|object) (of|with) \d+/);
    }),
    { numRuns: 500 },
  );
  assert.equal(
    describeValue('root:$6$hash:1:0:99999:7:::\nbin:*:1:0:99999:7:::'),
    'a text of 48 characters on 2 lines',
  );
  assert.equal(describeValue(nested(5000, 1, 'array')), 'an array of 1 item');
});

test('a key is named only when it reads as a field name', () => {
  assert.equal(keyName('process_count'), 'process_count');
  assert.equal(keyName('name', true), '"name"');
  assert.equal(keyName(3), '3');
  assert.equal(keyName('root:$6$abc:19000:0:99999:7::'), '(a key of 29 characters)');
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (key) => {
      const shown = keyName(key);
      assert.ok(
        shown === key ? /^[A-Za-z0-9_-]{1,64}$/.test(key) : /^\(a key of \d+ characters?\)$/.test(shown),
      );
    }),
  );
});
