/**
 * Recordings made up for the capture's unit tests: processes with chosen names, lifetimes and series,
 * laid out exactly as the recorder writes them (reading index, time, cumulative CPU seconds, RSS
 * bytes, threads, fds).
 */
import { type Point, RECORDING_FORMAT, type Recording } from '../../src/capture/recording.ts';

export const T0 = 1_700_000_000_000;

export interface FakeProcess {
  name: string;
  pid: number;
  args?: string[];
  owner?: string;
  /** first and last reading it is seen at (inclusive) @default 0 and the last */
  from?: number;
  to?: number;
  /** start time relative to the first reading, ms @default one hour before it */
  startMs?: number;
  /** CPU percent of one core in the interval that ends at reading i @default 0 */
  cpu?: (i: number) => number;
  /** resident MiB at reading i @default 10 */
  rssMiB?: (i: number) => number;
  threads?: number;
  fds?: number;
}

/** A recording of `readings` readings every `intervalMs` of the given processes. */
export function fakeRecording(options: {
  readings: number;
  intervalMs?: number;
  processes: FakeProcess[];
  host?: string;
  skipped?: Recording['skipped'];
}): Recording {
  const intervalMs = options.intervalMs ?? 1000;
  const readings = Array.from({ length: options.readings }, (_, i) => T0 + i * intervalMs);
  return {
    format: RECORDING_FORMAT,
    version: 1,
    host: options.host ?? 'test-host',
    kernel: '6.1.0-test',
    clockTicks: 100,
    intervalMs,
    readings,
    options: [],
    processes: options.processes.map((p) => {
      const from = p.from ?? 0;
      const to = Math.min(p.to ?? options.readings - 1, options.readings - 1);
      const points: Point[] = [];
      let cpuSeconds = 0;
      for (let i = from; i <= to; i++) {
        if (i > from) cpuSeconds += ((p.cpu?.(i) ?? 0) / 100) * (intervalMs / 1000);
        points.push([
          i,
          readings[i] as number,
          cpuSeconds,
          Math.round((p.rssMiB?.(i) ?? 10) * 2 ** 20),
          p.threads ?? 1,
          p.fds ?? 3,
        ]);
      }
      return {
        pid: p.pid,
        ppid: 1,
        name: p.name,
        owner: p.owner ?? 'root',
        executable: `/usr/bin/${p.name}`,
        args: p.args ?? [],
        cgroup: '/system.slice/test.service',
        startTimeMs: T0 + (p.startMs ?? (from === 0 ? -3_600_000 : from * intervalMs - intervalMs / 2)),
        points,
      };
    }),
    skipped: options.skipped ?? [],
  };
}
