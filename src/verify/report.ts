/**
 * The verification report: a verdict, one result per check with its first differences, the series
 * counts per metric and priority, the linger of exited processes, and how values and PIDs were
 * matched. The same document is the CLI's --json output, the API's answer and what the dashboard shows.
 */
import type { Priority } from '../profiles/schema.ts';

export const CHECKS = {
  presence: 'every expected live process is present for every expected metric',
  shape: 'metric names, types, units and attribute keys as expected',
  values: 'values agree with the simulator’s readings of the same moment',
  disappearance: 'exited processes are gone downstream within the allowed staleness',
  'series-counts': 'series per metric and priority match the ground truth',
  'extra-series': 'no series the simulator never produced, no duplicates, nothing that should be dropped',
  'sink-capacity': 'the OTLP sink kept everything it received',
} as const;

export type CheckName = keyof typeof CHECKS;

export interface Difference {
  check: CheckName;
  /** machine-readable: missing, attribute-missing, attribute-unexpected, attribute-value, type, unit, value, lingering, count, unknown, duplicate, not-dropped, overflow, unbracketed */
  kind: string;
  pid?: number;
  name?: string;
  priority?: Priority;
  metric?: string;
  attribute?: string;
  expected?: string;
  observed?: string;
  message: string;
}

export interface CheckResult {
  name: CheckName;
  title: string;
  passed: boolean;
  /** things checked (process x metric pairs, series, exits...) */
  checked: number;
  /** things that failed */
  failed: number;
  /** things not yet due (a process younger than max_delay, an exit younger than staleness) */
  pending: number;
  summary: string;
  /** the first differences */
  differences: Difference[];
  /** all differences, shown or not */
  differences_total: number;
}

export interface SeriesCount {
  /** the downstream name (aggregated: per group) */
  metric: string;
  priority: Priority | 'mixed';
  expected: number;
  observed: number;
  /** of the missing ones, those not yet due (processes younger than max_delay) */
  pending: number;
}

export interface LingerStats {
  allowed_seconds: number;
  /** exits whose downstream presence could be followed (within the lookback) */
  exits_checked: number;
  /** of those, seen downstream after their exit */
  seen_after_exit: number;
  /** still present now */
  still_present: number;
  /** present longer than allowed */
  overdue: number;
  max_seconds: number | null;
  p50_seconds: number | null;
  /** how far back presence was followed, and to within how much */
  lookback_seconds: number;
  resolution_seconds: number;
}

export type MatchMethod = 'pid' | 'nspid' | 'start-time' | 'name+command-line' | 'name+command-line (group)';

export interface Report {
  verdict: 'pass' | 'fail';
  simulation: { id: string; name: string; profile: string; state: string };
  source: { kind: 'prometheus' | 'otlp-sink'; location: string; naming: string; observed_at: string };
  expectations: { origin: string; summary: string[] };
  started_at: string;
  finished_at: string;
  attempts: number;
  /** how the skew between the downstream read and the simulator's readings was bounded */
  skew: string;
  matching: { methods: Partial<Record<MatchMethod, number>>; unmatched: number; note: string };
  linger: LingerStats;
  series: SeriesCount[];
  checks: CheckResult[];
  notes: string[];
}

/** Differences kept per check in a report (all are counted). */
export const DIFFERENCES_SHOWN = 50;
