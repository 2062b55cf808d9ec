/**
 * The reading history a verification brackets values with: bounded by readings, snapshots and age
 * whatever is published, and readingsOf gives a process's readings from a time on with the one just
 * before it. Also the NSpid parser behind the PID mapping, on /proc text and on this process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ProcessInfo } from '../../src/engine/managed-process.ts';
import type { ProcessIdentity, ProcessSample } from '../../src/proc/reader.ts';
import type { SampledProcess, Snapshot } from '../../src/sampler/snapshot.ts';
import { parseNspid, procHostView } from '../../src/verify/host.ts';
import { ReadingHistory, toReading } from '../../src/verify/readings.ts';
import { READING_FIELDS, type ReadingField } from '../../src/verify/truth.ts';
import { reading, sampledOf } from '../helpers/generated-readings.ts';

function snapshot(takenAtMs: number, pids: number[]): Snapshot {
  const processes = new Map<number, SampledProcess>();
  for (const pid of pids) {
    const sample = { pid, readAtMs: takenAtMs + 1, threads: pid % 7, rssBytes: pid * 4096 } as ProcessSample;
    processes.set(pid, { info: { pid } as ProcessInfo, identity: {} as ProcessIdentity, sample });
  }
  return { takenAtMs, durationMs: 1, processes, unreadable: new Map(), departed: new Map() };
}

test('stays within its bounds of readings, snapshots and age, whatever is published', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 60 }), {
        minLength: 1,
        maxLength: 80,
      }),
      fc.integer({ min: 50, max: 500 }),
      fc.integer({ min: 2, max: 20 }),
      (publishes, maxReadings, maxSnapshots) => {
        const history = new ReadingHistory({ maxReadings, maxSnapshots, maxAgeMs: 30_000 });
        publishes.forEach((pids, i) => {
          history.record(snapshot(1000 * i, pids));
          // one snapshot always stays, even alone over the limit: the newest reading of each process
          assert.ok(history.size <= Math.max(maxReadings, pids.length));
        });
        const last = publishes.length - 1;
        assert.ok(history.fromMs >= 1000 * last - 30_000);
        assert.ok(history.fromMs <= 1000 * last);
      },
    ),
  );
});

/** Each field of a reading and the sample's number it holds, written out here on its own. */
const SAMPLE_FIELD: Record<ReadingField, keyof ProcessSample> = {
  time: 'readAtMs',
  cpu_user: 'cpuUserSeconds',
  cpu_system: 'cpuSystemSeconds',
  cpu_wait: 'cpuWaitSeconds',
  memory_usage: 'rssBytes',
  memory_virtual: 'vmsBytes',
  threads: 'threads',
  fds: 'openFds',
  disk_read: 'readChars',
  disk_write: 'writeChars',
  context_switches_involuntary: 'involuntaryCtxSwitches',
  context_switches_voluntary: 'voluntaryCtxSwitches',
  faults_major: 'majorFaults',
  faults_minor: 'minorFaults',
};

test('a snapshot kept holds each process’s numbers in the order of READING_FIELDS, as toReading gives them', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 30 }),
      (readings) => {
        const processes = new Map<number, SampledProcess>();
        for (const r of readings) processes.set(r.pid, sampledOf(r));
        const history = new ReadingHistory();
        history.record({
          takenAtMs: 1,
          durationMs: 1,
          processes,
          unreadable: new Map(),
          departed: new Map(),
        });
        for (const [pid, { sample }] of processes) {
          const expected = READING_FIELDS.map((field) => sample[SAMPLE_FIELD[field]] as number);
          assert.deepEqual(history.readingsOf(pid), [expected]);
          assert.deepEqual(toReading(sample), expected);
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('readingsOf: the readings from a time on, with the one just before it, oldest first', () => {
  const history = new ReadingHistory();
  for (let i = 0; i < 10; i++) history.record(snapshot(1000 * i, i % 3 === 0 ? [7, 9] : [9]));
  const times = (pid: number, since?: number) => history.readingsOf(pid, since).map((reading) => reading[0]);
  assert.deepEqual(times(7), [1, 3001, 6001, 9001]);
  assert.deepEqual(times(7, 4000), [3001, 6001, 9001]);
  assert.deepEqual(times(9, 8500), [8001, 9001]);
  assert.deepEqual(times(42), []);
  const [reading] = history.readingsOf(9, 9000);
  assert.equal(reading?.[4], 9 * 4096, 'memory_usage in its place');
  assert.equal(reading?.[6], 2, 'threads in its place');
});

test('NSpid: the PIDs from the reader’s namespace inwards; this process reads its own', () => {
  assert.deepEqual(parseNspid('Name:\tx\nNSpid:\t9100\t4\nNSpgid:\t9100\t4\n'), [9100, 4]);
  assert.deepEqual(parseNspid('NSpid:\t12\n'), [12]);
  assert.equal(parseNspid('Name:\tx\n'), null);
  const host = procHostView();
  assert.deepEqual(host.nspid(process.pid)?.at(-1), process.pid);
  assert.match(host.pidNamespace('self') ?? '', /^pid:\[\d+\]$/);
  assert.match(host.bootId() ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(typeof host.startTicks(process.pid), 'number');
  assert.equal(host.nspid(2 ** 22 + 1), null, 'no such process');
});
