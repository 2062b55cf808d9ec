import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peakOf, valueAt } from '../../src/profiles/patterns.ts';

test('a steady pattern holds its value', () => {
  assert.equal(valueAt({ pattern: 'steady', value: 7 }, 0, 'k'), 7);
  assert.equal(valueAt({ pattern: 'steady', value: 7 }, 3_600_000, 'k'), 7);
});

test('a spiky pattern spends `for` of every `every` at its peak', () => {
  const pattern = { pattern: 'spiky' as const, base: 2, peak: 50, every: 10_000, for: 2_000 };
  let atPeak = 0;
  for (let t = 0; t < 100_000; t += 100) if (valueAt(pattern, t, 'p1') === 50) atPeak++;
  assert.equal(atPeak, 200, '20 % of 1000 steps');
  // phases differ between processes, so a fleet does not spike in lockstep
  const phases = new Set(
    ['a', 'b', 'c', 'd', 'e'].map((key) =>
      [0, 2000, 4000, 6000, 8000].map((t) => valueAt(pattern, t, key)).join(),
    ),
  );
  assert.ok(phases.size > 1);
});

test('a growing pattern grows at its rate up to max, or starts over with reset', () => {
  const leak = { pattern: 'growing' as const, start: 10, max: 40, per_minute: 10, reset: false };
  assert.equal(valueAt(leak, 0, 'k'), 10);
  assert.equal(valueAt(leak, 60_000, 'k'), 20);
  assert.equal(valueAt(leak, 600_000, 'k'), 40);
  const sawtooth = { ...leak, reset: true };
  assert.equal(valueAt(sawtooth, 180_000, 'k'), 10 + 0);
  assert.equal(valueAt(sawtooth, 240_000, 'k'), 20);
});

test('a random pattern stays in range, changes per step, and is the same for the same key', () => {
  const pattern = { pattern: 'random' as const, min: 5, max: 15, every: 1000 };
  const values = Array.from({ length: 100 }, (_, i) => valueAt(pattern, i * 1000, 'proc-1'));
  assert.ok(values.every((v) => v >= 5 && v <= 15));
  assert.ok(new Set(values).size > 50);
  assert.equal(valueAt(pattern, 1500, 'proc-1'), valueAt(pattern, 1999, 'proc-1'), 'constant within a step');
  assert.deepEqual(
    values,
    Array.from({ length: 100 }, (_, i) => valueAt(pattern, i * 1000, 'proc-1')),
  );
  assert.notDeepEqual(
    values,
    Array.from({ length: 100 }, (_, i) => valueAt(pattern, i * 1000, 'proc-2')),
  );
});

test('peakOf gives the largest value a pattern reaches', () => {
  assert.equal(peakOf({ pattern: 'spiky', base: 3, peak: 9, every: 1, for: 1 }), 9);
  assert.equal(peakOf({ pattern: 'growing', start: 1, max: 30, per_minute: 1, reset: false }), 30);
});
