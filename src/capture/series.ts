/**
 * From a recorded process's raw readings to the series the estimators take: CPU percent per interval
 * (the change of its CPU seconds over the time between two readings), resident MiB per reading, and
 * the thread and fd counts it held most of the time.
 */
import type { Series } from './fit.ts';
import type { RecordedProcess, Recording } from './recording.ts';
import { median } from './stats.ts';

const MIB = 2 ** 20;

/**
 * CPU in percent of one core between consecutive readings. A reading missed (the process could not be
 * read once) makes one longer interval, not a gap.
 */
export function cpuSeries(process: RecordedProcess): Series {
  const t: number[] = [];
  const dt: number[] = [];
  const v: number[] = [];
  for (let i = 1; i < process.points.length; i++) {
    const [, timeMs, cpuSeconds] = process.points[i] as RecordedProcess['points'][number];
    const [, prevMs, prevCpu] = process.points[i - 1] as RecordedProcess['points'][number];
    const span = timeMs - prevMs;
    if (span <= 0) continue;
    t.push(timeMs);
    dt.push(span);
    v.push(Math.max(0, ((cpuSeconds - prevCpu) * 1000 * 100) / span));
  }
  return { t, dt, v };
}

/** Resident memory in MiB at each reading. */
export function memorySeries(process: RecordedProcess): Series {
  return {
    t: process.points.map((point) => point[1]),
    dt: process.points.map(() => 0),
    v: process.points.map((point) => point[3] / MIB),
  };
}

/** The thread and fd counts the process held (medians: a pool that grows for a moment does not count). */
export function heldCounts(process: RecordedProcess): { threads: number; fds: number } {
  return {
    threads: Math.round(median(process.points.map((point) => point[4]))),
    fds: Math.round(median(process.points.map((point) => point[5]))),
  };
}

/** Where a recorded process sits in the recording's window. */
export interface Presence {
  /** alive at the first reading */
  atStart: boolean;
  /** alive at the last reading */
  atEnd: boolean;
  /** started after the first reading */
  startedDuring: boolean;
  /** gone before the last reading */
  exitedDuring: boolean;
  /**
   * For a process that exited during the recording: its lifetime, from its start (exact, from /proc) to
   * halfway between the last reading that saw it and the next one (the exit lies in between).
   */
  lifetimeMs: number | undefined;
}

export function presenceOf(process: RecordedProcess, recording: Recording): Presence {
  const last = recording.readings.length - 1;
  const first = process.points[0] as RecordedProcess['points'][number];
  const final = process.points.at(-1) as RecordedProcess['points'][number];
  const atStart = first[0] === 0;
  const atEnd = final[0] === last;
  const exitedDuring = !atEnd;
  const next = recording.readings[final[0] + 1];
  const exitMs = next === undefined ? final[1] : (final[1] + next) / 2;
  return {
    atStart,
    atEnd,
    startedDuring: process.startTimeMs > (recording.readings[0] as number),
    exitedDuring,
    lifetimeMs: exitedDuring ? Math.max(0, exitMs - process.startTimeMs) : undefined,
  };
}
