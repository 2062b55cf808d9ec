/**
 * A reader's sample keeps its numbers in shared columns (src/proc/column-sample.ts): it must read back
 * what was written, as a plain object does, for any values and many samples at once, and its slot
 * must come back once it is garbage, never while it lives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { ColumnSample, columnSlotsTaken } from '../../src/proc/column-sample.ts';
import type { ProcessSample } from '../../src/proc/reader.ts';
import { plainSample } from '../helpers/plain-sample.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const NUMBER_FIELDS = [
  'pid',
  'ppid',
  'cpuUserSeconds',
  'cpuSystemSeconds',
  'cpuWaitSeconds',
  'rssBytes',
  'vmsBytes',
  'threads',
  'openFds',
  'readChars',
  'writeChars',
  'readSyscalls',
  'writeSyscalls',
  'voluntaryCtxSwitches',
  'involuntaryCtxSwitches',
  'signalsPending',
  'minorFaults',
  'majorFaults',
  'startTimeMs',
  'startTicks',
  'readAtMs',
] as const;

const plainEmpty = (): ProcessSample => ({
  pid: 0,
  ppid: 0,
  name: '',
  state: '',
  cpuUserSeconds: 0,
  cpuSystemSeconds: 0,
  cpuWaitSeconds: 0,
  rssBytes: 0,
  vmsBytes: 0,
  threads: 0,
  openFds: 0,
  readChars: 0,
  writeChars: 0,
  readSyscalls: 0,
  writeSyscalls: 0,
  voluntaryCtxSwitches: 0,
  involuntaryCtxSwitches: 0,
  signalsPending: 0,
  memoryPercent: undefined,
  cpuUtilization: undefined,
  minorFaults: 0,
  majorFaults: 0,
  startTimeMs: 0,
  startTicks: 0,
  readAtMs: 0,
});

const write = fc.oneof(
  fc.record({
    field: fc.constantFrom(...NUMBER_FIELDS),
    value: fc.oneof(fc.double(), fc.integer(), fc.maxSafeInteger(), fc.constantFrom(-0, 2 ** 53, 1e300)),
  }),
  fc.record({
    field: fc.constant('memoryPercent' as const),
    value: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
  }),
  fc.record({ field: fc.constantFrom('name' as const, 'state' as const), value: fc.string() }),
  fc.record({
    field: fc.constant('cpuUtilization' as const),
    value: fc.option(fc.record({ user: fc.double(), system: fc.double(), wait: fc.double() }), {
      nil: undefined,
    }),
  }),
);

test('samples read back what was written to them, as plain objects do, many at once', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.tuple(fc.nat(), write), { maxLength: 300 }),
      (count, writes) => {
        const columns = Array.from({ length: count }, () => new ColumnSample());
        const plains = Array.from({ length: count }, plainEmpty);
        for (const sample of columns) assert.deepEqual(plainSample(sample), plainEmpty(), 'starts empty');
        for (const [which, { field, value }] of writes) {
          const i = which % count;
          (columns[i] as unknown as Record<string, unknown>)[field] = value;
          (plains[i] as unknown as Record<string, unknown>)[field] = value;
        }
        for (let i = 0; i < count; i++) {
          const sample = columns[i] as ColumnSample;
          assert.deepEqual(plainSample(sample), plains[i]);
          assert.deepEqual(JSON.parse(JSON.stringify(sample)), JSON.parse(JSON.stringify(plains[i])));
          for (const field of NUMBER_FIELDS)
            assert.ok(Object.is(sample[field], (plains[i] as ProcessSample)[field]));
        }
        assert.equal(new Set(columns.map((sample) => sample.slot)).size, count, 'a slot of its own each');
      },
    ),
    { numRuns: 300 },
  );
});

test('a slot comes back once its sample is garbage, and a sample that lives keeps its values', async () => {
  const keep = Array.from({ length: 50 }, (_, i) => {
    const sample = new ColumnSample();
    sample.rssBytes = 1000 + i;
    sample.memoryPercent = i / 3;
    return sample;
  });
  for (let round = 0; round < 5; round++) {
    // Thousands of samples made and dropped: their slots are handed back and taken again.
    for (let i = 0; i < 5_000; i++) {
      const sample = new ColumnSample();
      sample.rssBytes = -1;
      sample.memoryPercent = -1;
    }
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const fresh = new ColumnSample();
  assert.equal(fresh.rssBytes, 0, 'a slot handed back starts at zero');
  assert.equal(fresh.memoryPercent, undefined);
  keep.forEach((sample, i) => {
    assert.equal(sample.rssBytes, 1000 + i, 'a live sample keeps its values');
    assert.equal(sample.memoryPercent, i / 3);
  });
  assert.ok(columnSlotsTaken() < 5_000, `${columnSlotsTaken()} slots taken: the dropped samples' came back`);
});
