/**
 * The sampler writes each process's readings into two entries in turn instead of making new ones, and
 * reads a process's identity once. Over generated sequences of starts (PIDs reused too), exits, CPU
 * use, samples, final readings and collects, some of them landing in the middle of a sample, over a
 * /proc tree laid out on disk and read by the real reader, it must publish what a sampler that makes a new entry for every reading publishes, and
 * never change an entry a reader may still hold: one in the latest snapshot, or one of the snapshot
 * before it until the next is published; and a PID used again by another process must show that
 * process's command line.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createProcReader, type ProcessSample, type ProcReader } from '../../src/proc/reader.ts';
import { Sampler, type SampleSource } from '../../src/sampler/sampler.ts';
import { type SampledProcess, type Snapshot, SnapshotStore } from '../../src/sampler/snapshot.ts';
import { fakeProcRoot, sleepStat } from '../helpers/fake-proc.ts';
import { sleepInfo } from '../helpers/sampled-info.ts';

const PIDS = [301, 302, 303, 304, 305];

interface Model {
  /** which process under this PID: its command line names it */
  generation: number;
  utime: number;
  stime: number;
  blkio: number;
  startTicks: number;
  residentPages: number;
}

const commandLineOf = (pid: number, m: Model) => ['/bin/sleep', `${pid}-${m.generation}`];

function write(proc: string, pid: number, m: Model): void {
  const dir = join(proc, String(pid));
  writeFileSync(join(dir, 'cmdline'), `${commandLineOf(pid, m).join('\0')}\0`);
  writeFileSync(join(dir, 'stat'), sleepStat(pid, m));
  writeFileSync(join(dir, 'statm'), `${m.residentPages + 100} ${m.residentPages} 50 10 0 80 0\n`);
}

function buildRoot(): string {
  const proc = fakeProcRoot('sampler-reuse-', PIDS);
  for (const pid of PIDS)
    write(proc, pid, { generation: 0, utime: 0, stime: 0, blkio: 0, startTicks: 1000, residentPages: 200 });
  return proc;
}

const info = sleepInfo;

type Op =
  | { kind: 'start'; pid: number }
  | { kind: 'exit'; pid: number }
  | { kind: 'reuse'; pid: number }
  | { kind: 'burn'; pid: number; user: number; system: number; wait: number; pages: number }
  | { kind: 'final'; pid: number }
  | { kind: 'fresh' }
  | { kind: 'sample'; during: Op[]; after: number };

const pidArb = fc.constantFrom(...PIDS);
const between: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), pid: pidArb }),
  fc.record({ kind: fc.constant('exit' as const), pid: pidArb }),
  // the PID's process exits and another one gets the PID at once
  fc.record({ kind: fc.constant('reuse' as const), pid: pidArb }),
  fc.record({
    kind: fc.constant('burn' as const),
    pid: pidArb,
    user: fc.nat(300),
    system: fc.nat(300),
    wait: fc.nat(50),
    pages: fc.integer({ min: -100, max: 100 }),
  }),
  fc.record({ kind: fc.constant('final' as const), pid: pidArb }),
  fc.constant({ kind: 'fresh' as const }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: between, weight: 3 },
  {
    // a sample, with what happens while it yields between its processes
    arbitrary: fc.record({
      kind: fc.constant('sample' as const),
      during: fc.array(between, { maxLength: 3 }),
      after: fc.nat(PIDS.length),
    }),
    weight: 2,
  },
);

/** What a reader can see of an entry: its values, not its identity. */
function valuesOf(entry: SampledProcess) {
  return {
    pid: entry.info.pid,
    identity: { ...entry.identity, commandLine: [...entry.identity.commandLine] },
    sample: {
      ...entry.sample,
      cpuUtilization: entry.sample.cpuUtilization && { ...entry.sample.cpuUtilization },
    },
    cpuPercent: entry.cpuPercent,
  };
}
const valuesOfMap = (map: ReadonlyMap<number, SampledProcess>) =>
  new Map([...map].map(([pid, entry]) => [pid, valuesOf(entry)]));

/** One sampler with its store and the readings it published. */
function rig(reader: ProcReader, live: Set<number>) {
  const source: SampleSource = {
    liveProcesses: () => [...live].map(info),
    owns: (pid) => live.has(pid),
    processInfo: (pid) => (live.has(pid) ? info(pid) : undefined),
    recordSampled: () => {},
  };
  const store = new SnapshotStore();
  const published: Snapshot[] = [];
  store.onPublish((snapshot) => published.push(snapshot));
  // newProcessDelayMs far away: new processes are read only when the test says (fresh, a sample)
  const sampler = new Sampler({ source, reader, store, chunkSize: 1, newProcessDelayMs: 600_000 });
  return { store, sampler, published };
}

describe('entries written again', () => {
  let proc = '';
  before(() => {
    proc = buildRoot();
  });
  after(() => rmSync(join(proc, '..'), { recursive: true, force: true }));

  it('publish what new entries publish, and never change an entry a reader may hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const models = new Map<number, Model>();
        let ticks = 2000;
        for (const pid of PIDS) {
          const m = { generation: 0, utime: 0, stime: 0, blkio: 0, startTicks: ticks++, residentPages: 200 };
          models.set(pid, m);
          write(proc, pid, m);
        }
        const live = new Set<number>();
        // Both read the same files; the clock is the test's, so both see the same times.
        let clock = 1_000_000;
        const real = createProcReader({ root: proc });
        const timed = (sample: ProcessSample | undefined) => {
          if (sample) sample.readAtMs = clock;
          return sample;
        };
        const reusing = rig(
          { ...real, readProcess: (pid, into) => timed(real.readProcess(pid, into)) },
          live,
        );
        const fresh = rig({ ...real, readProcess: (pid) => timed(real.readProcess(pid)) }, live);
        const rigs = [reusing, fresh];

        // The entries of the latest snapshot as last seen, to check that none changes in place.
        let seen = new Map<number, { entry: SampledProcess; values: ReturnType<typeof valuesOf> }>();
        // The entries of the snapshot published last, and their values then.
        let lastPublished:
          | { entries: Map<number, SampledProcess>; values: Map<number, ReturnType<typeof valuesOf>> }
          | undefined;
        // Found while publishing, and asserted after: the sampler turns what a listener throws into a
        // warning.
        const written: number[] = [];
        reusing.store.onPublish((snapshot) => {
          if (lastPublished) {
            for (const [pid, entry] of lastPublished.entries) {
              if (!isDeepStrictEqual(valuesOf(entry), lastPublished.values.get(pid))) written.push(pid);
            }
          }
          lastPublished = { entries: new Map(snapshot.processes), values: valuesOfMap(snapshot.processes) };
        });

        const check = (what: string) => {
          const latest = reusing.store.latest().processes;
          assert.deepEqual(
            valuesOfMap(latest),
            valuesOfMap(fresh.store.latest().processes),
            `${what}: latest`,
          );
          for (const [pid, before] of seen) {
            if (latest.get(pid) === before.entry) {
              assert.deepEqual(valuesOf(before.entry), before.values, `${what}: pid ${pid} changed in place`);
            }
          }
          // A reading of the process now under a PID has that process's command line, also when the
          // PID was another process's before the sampler forgot it.
          for (const [pid, entry] of latest) {
            const model = models.get(pid) as Model;
            if (entry.sample.startTicks !== model.startTicks) continue;
            assert.deepEqual(
              entry.identity.commandLine,
              commandLineOf(pid, model),
              `${what}: pid ${pid}'s identity`,
            );
          }
          seen = new Map([...latest].map(([pid, entry]) => [pid, { entry, values: valuesOf(entry) }]));
          assert.deepEqual(
            written,
            [],
            `${what}: entries of the snapshot before, written before the next was published`,
          );
        };

        const apply = (op: Op) => {
          clock += 1000;
          const model = models.get((op as { pid: number }).pid) as Model;
          switch (op.kind) {
            case 'start': // a new process, or a PID used again by a new one
              if (live.has(op.pid)) return;
              Object.assign(model, { utime: 0, stime: 0, blkio: 0, startTicks: ticks++ });
              model.generation++;
              write(proc, op.pid, model);
              live.add(op.pid);
              for (const r of rigs) r.sampler.sampleSoon(op.pid);
              return;
            case 'exit':
              if (!live.delete(op.pid)) return;
              for (const r of rigs) r.store.drop(op.pid);
              return;
            case 'reuse':
              apply({ kind: 'exit', pid: op.pid });
              apply({ kind: 'start', pid: op.pid });
              return;
            case 'burn':
              model.utime += op.user;
              model.stime += op.system;
              model.blkio += op.wait;
              model.residentPages = Math.max(1, model.residentPages + op.pages);
              write(proc, op.pid, model);
              return;
            case 'final':
              for (const r of rigs) r.sampler.readFinal(op.pid);
              return;
            case 'fresh':
              for (const r of rigs) r.store.fresh();
              return;
            case 'sample':
              throw new Error('a sample is run by the loop');
          }
        };

        try {
          for (const op of ops) {
            if (op.kind !== 'sample') {
              apply(op);
              check(op.kind);
              continue;
            }
            clock += 1000;
            const runs = rigs.map((r) => r.sampler.sampleNow());
            // Both yield after each process (chunk size 1), in step: what happens meanwhile lands at
            // the same point of both samples.
            for (let i = 0; i < op.after; i++) await new Promise((resolve) => setImmediate(resolve));
            for (const during of op.during) {
              apply(during);
              check(`${during.kind} during a sample`);
            }
            await Promise.all(runs);
            check('sample');
            assert.equal(reusing.published.length, fresh.published.length);
            const [a, b] = [reusing.published.at(-1), fresh.published.at(-1)];
            if (a && b) assert.deepEqual(valuesOfMap(a.departed), valuesOfMap(b.departed), 'departed');
          }
        } finally {
          for (const r of rigs) r.sampler.stop();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads a sample into the one given: the same values as a new one, and nothing of a process gone', () => {
    const reader = createProcReader({ root: proc });
    const m = { generation: 9, utime: 17, stime: 5, blkio: 3, startTicks: 4321, residentPages: 321 };
    write(proc, 301, m);
    const into = reader.readProcess(302) as ProcessSample;
    const utilization = { user: 0.5, system: 0.25, wait: 0 };
    into.cpuUtilization = utilization;
    const read = reader.readProcess(301, into);
    assert.equal(read, into, 'the same object');
    const expected = reader.readProcess(301) as ProcessSample;
    assert.deepEqual(
      { ...read, readAtMs: 0, cpuUtilization: undefined },
      { ...expected, readAtMs: 0, cpuUtilization: undefined },
    );
    assert.equal(read.cpuUtilization, utilization, 'the utilization is the sampler’s to write');
    const before = { ...into };
    assert.equal(reader.readProcess(399, into), undefined, 'no such process');
    assert.deepEqual({ ...into }, before, 'left as it was');
  });
});
