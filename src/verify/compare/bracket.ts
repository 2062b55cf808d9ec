/**
 * Where a value seen downstream must lie, from the simulator's own readings. A downstream value was
 * read at some moment; the simulator read the same process before and after it. Counters (CPU time,
 * bytes, switches, faults) only grow, so the value lies between those two readings: the bracket's width
 * is the skew between the two reads, measured rather than assumed. Memory, threads and fds lie between
 * them when they moved, within the tolerance for memory. When the data carries its read time (OTLP),
 * the two readings around that time bracket it; when it does not (Prometheus keeps the scrape time),
 * every reading from `max_delay` before the query to a fresh one after it does.
 */
import type { Expectations } from '../expectations.ts';
import {
  FIELD_INDEX,
  type GroundTruth,
  type Reading,
  type ReadingField,
  type TruthMetric,
} from '../truth.ts';

/** The reading field a metric (and split value) is read from; undefined for process.uptime. */
export function fieldOf(metric: string, split: string | undefined): ReadingField | undefined {
  switch (metric) {
    case 'process.cpu.time':
      return split === 'user'
        ? 'cpu_user'
        : split === 'system'
          ? 'cpu_system'
          : split === 'wait'
            ? 'cpu_wait'
            : undefined;
    case 'process.memory.usage':
      return 'memory_usage';
    case 'process.memory.virtual':
      return 'memory_virtual';
    case 'process.disk.io':
      return split === 'read' ? 'disk_read' : split === 'write' ? 'disk_write' : undefined;
    case 'process.threads':
      return 'threads';
    case 'process.open_file_descriptors':
      return 'fds';
    case 'process.context_switches':
      return split === 'involuntary'
        ? 'context_switches_involuntary'
        : split === 'voluntary'
          ? 'context_switches_voluntary'
          : undefined;
    case 'process.paging.faults':
      return split === 'major' ? 'faults_major' : split === 'minor' ? 'faults_minor' : undefined;
    default:
      return undefined;
  }
}

/**
 * The readings around one downstream value. `complete` is false when no reading is as old as the
 * window's start (a process younger than that, or a history that does not reach back so far): the
 * readings from the oldest one on are then all there is, and the value may have been read before it.
 * Undefined when no reading is as new as the window's end.
 */
export function bracketReadings(
  readings: readonly Reading[],
  window: { pointTimeMs: number | undefined; fromMs: number; toMs: number },
): { readings: Reading[]; complete: boolean } | undefined {
  const time = (reading: Reading) => reading[0] as number;
  const from = window.pointTimeMs ?? window.fromMs;
  const to = window.pointTimeMs ?? window.toMs;
  let lower = -1;
  let upper = -1;
  for (let i = 0; i < readings.length; i++) {
    const t = time(readings[i] as Reading);
    if (t <= from) lower = i;
    if (t >= to && upper < 0) upper = i;
  }
  if (upper < 0) return undefined;
  return { readings: readings.slice(Math.max(0, lower), upper + 1), complete: lower >= 0 };
}

export interface Bounds {
  low: number;
  high: number;
  /** the allowed range, for messages */
  describe: string;
}

/** The range a value of `metric` (one process) must lie in, given the readings that bracket it. */
export function boundsOf(
  truth: GroundTruth,
  expectations: Expectations,
  metric: TruthMetric,
  split: string | undefined,
  bracket: readonly Reading[],
  startTimeMs: number | null,
): Bounds | undefined {
  const times = bracket.map((reading) => reading[0] as number);
  if (metric.name === 'process.uptime') {
    if (startTimeMs === null) return undefined;
    const tick = 1 / truth.clock_ticks;
    const low = (Math.min(...times) - startTimeMs) / 1000 - tick;
    const high = (Math.max(...times) - startTimeMs) / 1000 + tick;
    return { low, high, describe: `${round(low)} to ${round(high)} s` };
  }
  const field = fieldOf(metric.name, split);
  if (field === undefined) return undefined;
  const values = bracket.map((reading) => reading[FIELD_INDEX[field]] as number);
  const low = Math.min(...values);
  const high = Math.max(...values);
  switch (metric.name) {
    case 'process.cpu.time': {
      const slack = expectations.tolerances.cpuTicks / truth.clock_ticks;
      return {
        low: low - slack,
        high: high + slack,
        describe: `${round(low)} to ${round(high)} s ± ${expectations.tolerances.cpuTicks} ticks`,
      };
    }
    case 'process.memory.usage':
    case 'process.memory.virtual': {
      const share = expectations.tolerances.memoryPercent / 100;
      return {
        low: low * (1 - share),
        high: high * (1 + share),
        describe: `${low === high ? low : `${low} to ${high}`} ± ${expectations.tolerances.memoryPercent} %`,
      };
    }
    default:
      return { low, high, describe: low === high ? String(low) : `${low} to ${high}` };
  }
}

/** Sum of per-process bounds, for a series that sums processes (an aggregating pipeline). */
export function sumBounds(parts: readonly Bounds[]): Bounds {
  const low = parts.reduce((sum, part) => sum + part.low, 0);
  const high = parts.reduce((sum, part) => sum + part.high, 0);
  return { low, high, describe: `${round(low)} to ${round(high)} (sum of ${parts.length} processes)` };
}

export function within(value: number, bounds: Bounds): boolean {
  // A few ulps of slack: double sums of exact readings must not fail on rounding.
  const epsilon = 1e-9 * Math.max(1, Math.abs(bounds.low), Math.abs(bounds.high));
  return value >= bounds.low - epsilon && value <= bounds.high + epsilon;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
