import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { meanOf } from '../../src/profiles/demand.ts';
import { heldValue, peakOf, replayIndex, valueAt } from '../../src/profiles/patterns.ts';
import { hashKey } from '../../src/profiles/random.ts';

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

test('a replay holds each value for `every`, then starts over or holds the last one', () => {
  const values = [3, 9, 27];
  const looped = { pattern: 'replay' as const, every: 500, values, repeat: true };
  const held = { ...looped, repeat: false };
  assert.deepEqual(
    [0, 499, 500, 1499, 1500, 1999, 2000].map((t) => valueAt(looped, t, 'k')),
    [3, 3, 9, 27, 3, 3, 9],
  );
  assert.deepEqual(
    [0, 1000, 1500, 60_000].map((t) => valueAt(held, t, 'k')),
    [3, 27, 27, 27],
  );
  assert.equal(peakOf(looped), 27);
  assert.equal(meanOf(looped), 13);
  assert.equal(meanOf(held), 27, 'held: the value it stays at');
});

test('a replay is the recorded value of its step at any time, the same for every process', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 50 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (values, every, repeat, elapsed) => {
        const pattern = { pattern: 'replay' as const, every, values, repeat };
        const step = Math.floor(elapsed / every);
        const expected = repeat ? values[step % values.length] : values[Math.min(step, values.length - 1)];
        assert.equal(valueAt(pattern, elapsed, 'a'), expected);
        assert.equal(valueAt(pattern, elapsed, 'b'), expected);
        assert.equal(replayIndex(pattern, -5), 0, 'before the start: the first value');
      },
    ),
  );
});

/** The time-weighted mean of a replay over [from, from + span), walked step by step (integers only). */
function walkedMean(
  pattern: { pattern: 'replay'; every: number; values: number[]; repeat: boolean },
  from: number,
  span: number,
): number {
  let sum = 0;
  for (let t = from; t < from + span; ) {
    const next = Math.min(from + span, (Math.floor(t / pattern.every) + 1) * pattern.every);
    sum += (pattern.values[replayIndex(pattern, t)] as number) * (next - t);
    t = next;
  }
  return sum / span;
}

const replays = fc.record({
  pattern: fc.constant('replay' as const),
  values: fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 40 }),
  every: fc.integer({ min: 1, max: 2000 }),
  repeat: fc.boolean(),
});

test('between two retargets a replay holds the time-weighted mean of its values, at any phase', () => {
  fc.assert(
    fc.property(
      replays,
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 5000 }),
      (pattern, from, span) => {
        // The walk is exact but long for late starts: start it within the first rounds, as a loop repeats.
        const round = pattern.every * pattern.values.length;
        const walkFrom = pattern.repeat ? (from % round) + round : Math.min(from, round + 7);
        const walked = walkedMean(pattern, walkFrom, span);
        const held = heldValue(pattern, pattern.repeat ? from : walkFrom, span, 'k');
        assert.ok(Math.abs(held - walked) <= 1e-9 * Math.max(1, walked), `${held} vs ${walked}`);
        if (
          span <= pattern.every &&
          Math.floor(walkFrom / pattern.every) === Math.floor((walkFrom + span - 1) / pattern.every)
        )
          assert.ok(
            Math.abs(held - valueAt(pattern, walkFrom, 'k')) <= 1e-9 * Math.max(1, held),
            'within one step: its value',
          );
      },
    ),
  );
});

test('retargets that follow each other hold, over whole rounds of a loop, the mean of what was recorded', () => {
  fc.assert(
    fc.property(
      replays.map((p) => ({ ...p, repeat: true })),
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.integer({ min: 1, max: 4 }),
      (pattern, start, rounds) => {
        const round = pattern.every * pattern.values.length;
        const total = round * rounds;
        // Retargets at uneven times, as timers fire: the spans between them add up to the whole rounds.
        let at = start;
        let sum = 0;
        for (let left = total, i = 0; left > 0; i++) {
          const span = Math.min(left, 1 + ((i * 7919 + start) % 1500));
          sum += heldValue(pattern, at, span, 'k') * span;
          at += span;
          left -= span;
        }
        const mean = pattern.values.reduce((a, b) => a + b, 0) / pattern.values.length;
        assert.ok(Math.abs(sum / total - mean) <= 1e-9 * Math.max(1, mean), `${sum / total} vs ${mean}`);
      },
    ),
  );
});

test('a 1 s retarget over 250 ms readings holds their mean, not the reading at its phase', () => {
  const recorded = {
    pattern: 'replay' as const,
    every: 250,
    values: [12, 20, 12, 20, 12, 20],
    repeat: true,
  };
  for (let phase = 0; phase < 2000; phase += 10)
    for (let tick = 0; tick < 8; tick++) {
      const held = heldValue(recorded, phase + tick * 1000, 1000, 'k');
      assert.ok(held >= 16 - 1e-9 && held <= 16 + 1e-9, `phase ${phase} tick ${tick}: ${held}`);
    }
  assert.deepEqual(
    [0, 1, 2, 3].map((tick) => valueAt(recorded, 300 + tick * 1000, 'k')),
    [20, 20, 20, 20],
    'the value at each retarget: the same phase every time',
  );
  assert.equal(heldValue(recorded, 300, 0, 'k'), 20, 'no span: the value at that time');
});

test('steady, growing and random patterns are held at their value when the retarget comes', () => {
  const patterns = [
    { pattern: 'steady' as const, value: 7 },
    { pattern: 'growing' as const, start: 10, max: 40, per_minute: 10, reset: true },
    { pattern: 'random' as const, min: 1, max: 9, every: 300 },
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...patterns),
      fc.nat(),
      fc.integer({ min: 1, max: 10_000 }),
      (pattern, at, span) => {
        assert.equal(heldValue(pattern, at, span, 'seed'), valueAt(pattern, at, 'seed'));
      },
    ),
  );
});

test('hashKey is FNV-1a over the parts joined by U+0001, for generated parts (seeds stay what they were)', () => {
  const joined = (parts: Array<string | number>) => {
    let hash = 0x811c9dc5;
    const text = parts.join('\u0001');
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    return hash >>> 0;
  };
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.double()), {
        maxLength: 6,
      }),
      (parts) => assert.equal(hashKey(...parts), joined(parts)),
    ),
    { numRuns: 2000 },
  );
  // Values pinned before the rewrite: a seed of an earlier release still gives the same run.
  assert.equal(hashKey('7/0/3/0/cpu', 'spike-phase'), 2102749504);
  assert.equal(hashKey(42, 'chaos'), 3667646670);
});

/** A spiky pattern and the span between two retargets, its period from a fifth of a span to twelve spans. */
const spikesAndSpans = fc
  .record({
    base: fc.double({ min: 0, max: 100, noNaN: true }),
    peak: fc.double({ min: 0, max: 100, noNaN: true }),
    span: fc.integer({ min: 50, max: 2000 }),
    spansPerPeriod: fc.double({ min: 0.2, max: 12, noNaN: true }),
    // up to twice the period: a spike as long as its period or longer never ends
    forShare: fc.double({ min: 0, max: 2, noNaN: true }),
  })
  .map(({ base, peak, span, spansPerPeriod, forShare }) => {
    const every = Math.max(1, Math.round(spansPerPeriod * span));
    return {
      pattern: { pattern: 'spiky' as const, base, peak, every, for: Math.round(forShare * every) },
      span,
    };
  });

test('a spike held between retargets is at its base or its peak, and its time at the peak follows the pattern within half a span', () => {
  fc.assert(
    fc.property(
      spikesAndSpans,
      fc.string({ maxLength: 8 }),
      fc.integer({ min: 1, max: 40 }),
      ({ pattern, span }, key, ticks) => {
        const levels = { ...pattern, base: 0, peak: 1 };
        let held = 0;
        // The pattern's own time at the peak, walked in 1 ms steps of valueAt: within 1 ms per edge.
        let walked = 0;
        let edges = 0;
        let was = valueAt(levels, 0, key);
        for (let tick = 0; tick < ticks; tick++) {
          const value = heldValue(pattern, tick * span, span, key);
          assert.ok(value === pattern.base || value === pattern.peak, `${value}: neither base nor peak`);
          held += heldValue(levels, tick * span, span, key) * span;
          for (let at = tick * span; at < (tick + 1) * span; at++) {
            const now = valueAt(levels, at, key);
            walked += now;
            if (now !== was) edges++;
            was = now;
          }
          assert.ok(
            Math.abs(held - walked) <= span / 2 + edges,
            `after ${tick + 1} spans of ${span} ms: held ${held} ms at the peak, the pattern ${walked} (${edges} edges)`,
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('a spike of whole spans is held for exactly its length every time, at any phase', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 2, max: 12 }),
      fc.string({ maxLength: 8 }),
      (span, spansPerPeriod, key) => {
        const spansHigh = 1 + (key.length % (spansPerPeriod - 1));
        const pattern = {
          pattern: 'spiky' as const,
          base: 0,
          peak: 1,
          every: spansPerPeriod * span,
          for: spansHigh * span,
        };
        const held = Array.from({ length: spansPerPeriod * 6 }, (_, tick) =>
          heldValue(pattern, tick * span, span, key),
        );
        const runs = held
          .join('')
          .split('0')
          .filter((run) => run.length > 0);
        // the first and the last run may be cut by the window
        for (const run of runs.slice(1, -1)) assert.equal(run.length, spansHigh, held.join(''));
        assert.ok(runs.length >= 4, held.join(''));
      },
    ),
  );
});

test('a 1.8 s spike every 4 s on a 1 s grid is held 1.8 s of every 4 on average, at any phase (not 1 s)', () => {
  const pattern = { pattern: 'spiky' as const, base: 0, peak: 30, every: 4000, for: 1800 };
  for (let key = 0; key < 200; key++)
    for (const start of [0, 130, 500, 999]) {
      let sum = 0;
      const ticks = 100;
      for (let tick = 0; tick < ticks; tick++)
        sum += heldValue(pattern, start + tick * 1000, 1000, `p${key}`);
      assert.ok(
        Math.abs(sum / ticks - 13.5) <= (30 * 1.5) / ticks,
        `key p${key} from ${start} ms: mean ${sum / ticks}`,
      );
    }
});
