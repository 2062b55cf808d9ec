/**
 * The ground truth of a pipeline verification, as a document: what the simulator produced for one
 * simulation, in the form a verifier on the other side of an HTTP call (or of a PID namespace) needs.
 * Snake_case because it is the wire format of GET /api/v1/simulations/{id}/ground-truth.
 *
 * Readings are arrays of numbers in the order of READING_FIELDS rather than objects: 10,000 processes
 * with a few readings each stay a few megabytes of JSON.
 */
import type { ExitReason } from '../engine/events.ts';
import type { Priority } from '../profiles/schema.ts';
import type { MetricShape } from '../telemetry/process-metrics.ts';

/** What each number of a reading is, in order. Times in epoch ms, CPU in seconds, memory in bytes. */
export const READING_FIELDS = [
  'time',
  'cpu_user',
  'cpu_system',
  'cpu_wait',
  'memory_usage',
  'memory_virtual',
  'threads',
  'fds',
  'disk_read',
  'disk_write',
  'context_switches_involuntary',
  'context_switches_voluntary',
  'faults_major',
  'faults_minor',
] as const;

export type ReadingField = (typeof READING_FIELDS)[number];
/** One /proc reading of one process: numbers in the order of READING_FIELDS. */
export type Reading = readonly number[];

export const FIELD_INDEX = Object.fromEntries(READING_FIELDS.map((field, i) => [field, i])) as Record<
  ReadingField,
  number
>;

/** A metric the simulator exports, with both of its names. */
export interface TruthMetric {
  /** OTLP name, e.g. process.cpu.time */
  name: string;
  /** the name the collector's prometheus exporter gives it, `_total` included for counters */
  prometheus_name: string;
  unit: string;
  shape: MetricShape;
  value_type: 'int' | 'double';
  /** the attribute that splits it (state, direction, type) with its values, or null */
  split: { key: string; values: string[] } | null;
}

export interface TruthProcess {
  /** PID in the simulator's PID namespace */
  pid: number;
  name: string;
  priority: Priority;
  profile: string;
  cpu_pattern: string;
  memory_pattern: string;
  /** when the engine saw it start, epoch ms */
  started_at_ms: number;
  /** /proc start time (boot time + starttime), epoch ms; null until it was first read */
  start_time_ms: number | null;
  /** /proc/PID/stat starttime in clock ticks since boot: the same in every PID namespace */
  start_ticks: number | null;
  ppid: number | null;
  executable_path: string | null;
  /** argv as /proc/PID/cmdline holds it */
  command_line: string[] | null;
  owner: string | null;
  /** readings oldest first; the last one is taken when the document is built */
  readings: Reading[];
}

export interface TruthExit {
  pid: number;
  name: string;
  priority: Priority;
  reason: ExitReason;
  started_at_ms: number;
  exited_at_ms: number;
}

export interface GroundTruth {
  version: 1;
  simulation: {
    id: string;
    name: string;
    profile: string;
    state: string;
    started_at_ms: number | null;
    ended_at_ms: number | null;
    /** the shard of a sharded run (its series carry simulator.shard); absent for a whole run */
    shard?: { index: number; count: number } | undefined;
  };
  /** when the newest readings were taken (right before the document was built), epoch ms */
  taken_at_ms: number;
  /** the simulator's sampling and export interval */
  interval_ms: number;
  clock_ticks: number;
  page_size: number;
  boot_time_seconds: number;
  /** where the simulator runs: tells a verifier whether it can look the PIDs up itself */
  host: {
    /** /proc/sys/kernel/random/boot_id: equal on both sides = the same kernel */
    boot_id: string | null;
    /** the simulator's PID namespace, e.g. pid:[4026531836] */
    pid_namespace: string | null;
  };
  /** prefix of the simulation attributes on every series, or null when they are off */
  simulation_attribute_prefix: string | null;
  /** the per-process attributes the simulator writes (the receiver's cgroup ones only when enabled) */
  process_attribute_keys?: string[] | undefined;
  /** the process metrics the simulator exports */
  metrics: TruthMetric[];
  /** the oldest reading kept, epoch ms: values older than this cannot be bracketed */
  readings_from_ms: number;
  processes: TruthProcess[];
  /** the newest exits (at most exit_log_limit), oldest first */
  exits: TruthExit[];
  /** exits ever recorded in the simulation */
  exits_total: number;
  exit_log_limit: number;
}
