/**
 * Generated readings of processes (any number in every numeric field, any name and command line),
 * shaped as the sampler's snapshot entries, for the tests of the exporters' encodings.
 */
import fc from 'fast-check';
import type { ProcessSample } from '../../src/proc/reader.ts';
import { type SampledProcess, SnapshotStore } from '../../src/sampler/snapshot.ts';

/** Any number the encoder may be handed: /proc's integers up to 2^53, fractions, and negatives too. */
const anyNumber = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.maxSafeInteger(),
  fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true }),
  fc.constantFrom(0, -0, 1, 2 ** 32, 2 ** 32 - 1, 2 ** 53 - 1, -1, 0.5),
);
const time = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 45 }),
  fc.double({ min: 0, max: 2 ** 45, noNaN: true }),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
);

export const reading = fc.record({
  pid: fc.integer({ min: 1, max: 4_194_304 }),
  ppid: fc.integer({ min: 0, max: 4_194_304 }),
  name: fc.string({ minLength: 1, maxLength: 15 }),
  commandLine: fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { minLength: 1, maxLength: 5 }),
  numbers: fc.array(anyNumber, { minLength: 17, maxLength: 17 }),
  utilization: fc.option(
    fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }),
    {
      nil: undefined,
    },
  ),
  startTimeMs: time,
  readAtMs: time,
});

export function sampledOf(r: Reading): SampledProcess {
  const n = (i: number) => r.numbers[i] as number;
  const sample: ProcessSample = {
    pid: r.pid,
    ppid: r.ppid,
    name: r.name,
    state: 'S',
    cpuUserSeconds: n(0),
    cpuSystemSeconds: n(1),
    cpuWaitSeconds: n(2),
    rssBytes: n(3),
    vmsBytes: n(4),
    threads: n(5),
    openFds: n(6),
    readChars: n(7),
    writeChars: n(8),
    readSyscalls: n(9),
    writeSyscalls: n(10),
    voluntaryCtxSwitches: n(11),
    involuntaryCtxSwitches: n(12),
    signalsPending: n(13),
    memoryPercent: r.utilization?.[3],
    cpuUtilization: r.utilization && {
      user: r.utilization[0],
      system: r.utilization[1],
      wait: r.utilization[2],
    },
    minorFaults: n(14),
    majorFaults: n(15),
    startTimeMs: r.startTimeMs,
    startTicks: n(16),
    readAtMs: r.readAtMs,
  } as ProcessSample;
  return {
    info: {
      pid: r.pid,
      name: r.name,
      simulationId: '30502627-f679-4477-9ef7-1a590d104f57',
      profile: 'generated',
      shard: undefined,
      priority: 'low',
      cpuPattern: 'random',
      memoryPattern: 'leak',
      startedAtMs: 0,
      generation: 0,
      targets: {} as SampledProcess['info']['targets'],
    },
    identity: {
      executablePath: `/opt/${r.name}`,
      commandLine: r.commandLine,
      owner: 'simulator',
      cgroup: r.pid % 2 === 0 ? '0::/generated' : undefined,
    },
    sample,
  };
}
export type Reading = {
  pid: number;
  ppid: number;
  name: string;
  commandLine: string[];
  numbers: number[];
  utilization: number[] | undefined;
  startTimeMs: number;
  readAtMs: number;
};

/**
 * A store whose latest snapshot holds `readings` as its processes and `departed` as its departed
 * readings; `processes` are the snapshot's entries by PID (a test may write later readings into them).
 */
export function storeOf(
  readings: readonly Reading[],
  departed: readonly Reading[] = [],
): { store: SnapshotStore; processes: Map<number, SampledProcess> } {
  const store = new SnapshotStore();
  const processes = new Map<number, SampledProcess>(readings.map((r) => [r.pid, sampledOf(r)]));
  const gone = new Map<number, SampledProcess>(departed.map((r) => [r.pid, sampledOf(r)]));
  store.publish({ takenAtMs: 0, durationMs: 0, processes, unreadable: new Map(), departed: gone });
  return { store, processes };
}
