/**
 * The exit log keeps exactly the newest `limit` exits, oldest first, whatever the number recorded, and
 * counts them all; listing from a time keeps those at or after it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ExitLog, type ExitRecord } from '../../src/engine/exit-log.ts';
import { PRIORITIES } from '../../src/profiles/schema.ts';

/** fast-check's records have no prototype; the log's have Object's. */
const exit = fc
  .record({
    pid: fc.integer({ min: 1, max: 4_194_304 }),
    name: fc.string({ minLength: 1, maxLength: 15 }),
    priority: fc.constantFrom(...PRIORITIES),
    reason: fc.constantFrom('lifetime' as const, 'stopped' as const, 'killed' as const, 'crashed' as const),
    startedAtMs: fc.integer({ min: 0, max: 2 ** 40 }),
    exitedAtMs: fc.integer({ min: 0, max: 2 ** 40 }),
    generation: fc.nat(1_000_000),
    exitCode: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    signal: fc.option(fc.constantFrom('SIGTERM', 'SIGKILL'), { nil: undefined }),
    samples: fc.nat(100_000),
    firstSampledAtMs: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    lastSampledAtMs: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    finalReading: fc.boolean(),
  })
  .map((record): ExitRecord => ({ ...record }));

test('keeps the newest `limit` exits in order and counts every one', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.array(exit, { maxLength: 1000 }), (limit, exits) => {
      const log = new ExitLog(limit);
      for (const record of exits) log.add(record);
      assert.equal(log.total, exits.length);
      assert.equal(log.size, Math.min(limit, exits.length));
      assert.deepEqual(log.list(), exits.slice(-limit));
    }),
    { numRuns: 200 },
  );
});

test('lists the exits at or after a time', () => {
  fc.assert(
    fc.property(fc.array(exit, { maxLength: 200 }), fc.integer({ min: 0, max: 2 ** 40 }), (exits, since) => {
      const log = new ExitLog(100);
      for (const record of exits) log.add(record);
      assert.deepEqual(
        log.list(since),
        exits.slice(-100).filter((record: ExitRecord) => record.exitedAtMs >= since),
      );
    }),
  );
});

test('refuses a limit that is not a positive integer', () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => new ExitLog(limit), /positive integer/);
});
