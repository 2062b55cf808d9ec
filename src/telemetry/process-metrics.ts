/**
 * The process metrics, named and shaped as the OpenTelemetry Collector's hostmetrics receiver (process
 * scraper) emits them, in one table. `prometheusName` is what the collector's prometheus exporter makes
 * of the same metric (unit suffix, `_total` on monotonic sums), so the simulator's own /metrics and a
 * collector downstream of it show identical names.
 */
import type { ProcessSample } from '../proc/reader.ts';

// Names, units, types and descriptions are those of the receiver's metadata
// (receiver/hostmetricsreceiver/internal/scraper/processscraper/metadata.yaml at v0.165.0, 130-410).

export type MetricShape = 'counter' | 'updown' | 'gauge';

export interface ProcessMetricDefinition {
  name: string;
  /** name on /metrics, before the `_total` the Prometheus serializer adds to counters */
  prometheusName: string;
  description: string;
  unit: string;
  shape: MetricShape;
  valueType: 'int' | 'double';
  /** off unless asked for (OPTIONAL_METRICS, METRICS_CONFIG) */
  optional: boolean;
  /**
   * on by default in the hostmetrics receiver: the default of a metric a receiver configuration
   * (METRICS_CONFIG) leaves out. Threads and fds are on in the simulator and off in the receiver.
   */
  receiverDefault: boolean;
  /** the attribute key that splits the metric (state, direction, type), with its values */
  split?: { key: string; values: readonly string[] };
  /**
   * Writes the value(s) read from a sample into `out`, in the order of `split.values` (one value when
   * not split), and returns how many: none when the sample has no such value (the first reading of a
   * process has no utilization yet). `out` is the caller's and reused, so that an export of 10,000
   * processes does not allocate an array per process and metric.
   */
  read(sample: ProcessSample, nowMs: number, out: number[]): number;
}

function put1(out: number[], a: number): number {
  out[0] = a;
  return 1;
}
function put2(out: number[], a: number, b: number): number {
  out[0] = a;
  out[1] = b;
  return 2;
}
function put3(out: number[], a: number, b: number, c: number): number {
  out[0] = a;
  out[1] = b;
  out[2] = c;
  return 3;
}

export const PROCESS_METRICS: readonly ProcessMetricDefinition[] = [
  {
    name: 'process.cpu.time',
    prometheusName: 'process_cpu_time_seconds',
    description: 'Total CPU seconds broken down by different states.',
    unit: 's',
    shape: 'counter',
    valueType: 'double',
    optional: false,
    receiverDefault: true,
    split: { key: 'state', values: ['user', 'system', 'wait'] },
    read: (s, _now, out) => put3(out, s.cpuUserSeconds, s.cpuSystemSeconds, s.cpuWaitSeconds),
  },
  {
    name: 'process.memory.usage',
    prometheusName: 'process_memory_usage_bytes',
    description: 'The amount of physical memory in use.',
    unit: 'By',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    receiverDefault: true,
    read: (s, _now, out) => put1(out, s.rssBytes),
  },
  {
    name: 'process.memory.virtual',
    prometheusName: 'process_memory_virtual_bytes',
    description: 'The amount of committed virtual memory.',
    unit: 'By',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    receiverDefault: true,
    read: (s, _now, out) => put1(out, s.vmsBytes),
  },
  {
    name: 'process.disk.io',
    prometheusName: 'process_disk_io_bytes',
    description: 'Disk bytes transferred.',
    unit: 'By',
    shape: 'counter',
    valueType: 'int',
    optional: false,
    receiverDefault: true,
    split: { key: 'direction', values: ['read', 'write'] },
    read: (s, _now, out) => put2(out, s.readChars, s.writeChars),
  },
  {
    // syscr / syscw of /proc/PID/io (gopsutil process_linux.go 735-738; scraper 361-362)
    name: 'process.disk.operations',
    prometheusName: 'process_disk_operations',
    description: 'Number of disk operations performed by the process.',
    unit: '{operations}',
    shape: 'counter',
    valueType: 'int',
    optional: true,
    receiverDefault: false,
    split: { key: 'direction', values: ['read', 'write'] },
    read: (s, _now, out) => put2(out, s.readSyscalls, s.writeSyscalls),
  },
  {
    // delta CPU time / delta wall time / logical CPUs, per state; no point on a process's first
    // reading (ucal/cpu_utilization_calculator.go 31-65)
    name: 'process.cpu.utilization',
    prometheusName: 'process_cpu_utilization_ratio',
    description:
      'Percentage of total CPU time used by the process since last scrape, expressed as a value between 0 and 1. On the first scrape, no data point is emitted for this metric.',
    unit: '1',
    shape: 'gauge',
    valueType: 'double',
    optional: true,
    receiverDefault: false,
    split: { key: 'state', values: ['user', 'system', 'wait'] },
    read: (s, _now, out) => {
      const u = s.cpuUtilization;
      return u ? put3(out, u.user, u.system, u.wait) : 0;
    },
  },
  {
    // A percentage (0-100) despite the unit "1": 100 x RSS / MemTotal in float32 (gopsutil
    // process.go 344-357, recorded as is by process_scraper.go 336-341)
    name: 'process.memory.utilization',
    prometheusName: 'process_memory_utilization_ratio',
    description: 'Percentage of total physical memory that is used by the process.',
    unit: '1',
    shape: 'gauge',
    valueType: 'double',
    optional: true,
    receiverDefault: false,
    read: (s, _now, out) => (s.memoryPercent === undefined ? 0 : put1(out, s.memoryPercent)),
  },
  {
    // The ShdPnd mask as an integer, not a count (gopsutil process_linux.go 995-1003, scraper 494-504)
    name: 'process.signals_pending',
    prometheusName: 'process_signals_pending',
    description: 'Number of pending signals for the process.',
    unit: '{signals}',
    shape: 'updown',
    valueType: 'int',
    optional: true,
    receiverDefault: false,
    read: (s, _now, out) => put1(out, s.signalsPending),
  },
  {
    name: 'process.threads',
    prometheusName: 'process_threads',
    description: 'Process threads count.',
    unit: '{threads}',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    receiverDefault: false,
    read: (s, _now, out) => put1(out, s.threads),
  },
  {
    name: 'process.open_file_descriptors',
    prometheusName: 'process_open_file_descriptors',
    description: 'Number of file descriptors in use by the process.',
    unit: '{count}',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    receiverDefault: false,
    read: (s, _now, out) => put1(out, s.openFds),
  },
  {
    name: 'process.context_switches',
    prometheusName: 'process_context_switches',
    description: 'Number of times the process has been context switched.',
    unit: '{count}',
    shape: 'counter',
    valueType: 'int',
    optional: true,
    receiverDefault: false,
    split: { key: 'type', values: ['involuntary', 'voluntary'] },
    read: (s, _now, out) => put2(out, s.involuntaryCtxSwitches, s.voluntaryCtxSwitches),
  },
  {
    name: 'process.paging.faults',
    prometheusName: 'process_paging_faults',
    description: 'Number of page faults the process has made.',
    unit: '{faults}',
    shape: 'counter',
    valueType: 'int',
    optional: true,
    receiverDefault: false,
    split: { key: 'type', values: ['major', 'minor'] },
    read: (s, _now, out) => put2(out, s.majorFaults, s.minorFaults),
  },
  {
    name: 'process.uptime',
    prometheusName: 'process_uptime_seconds',
    description: 'The time the process has been running.',
    unit: 's',
    shape: 'gauge',
    valueType: 'double',
    optional: true,
    receiverDefault: false,
    read: (s, nowMs, out) => put1(out, Math.max(0, (nowMs - s.startTimeMs) / 1000)),
  },
];

/** Per-process attribute keys, as the hostmetrics receiver sets them on its per-process Resource. */
export const PROCESS_ATTRIBUTE_KEYS = [
  'process.pid',
  'process.parent_pid',
  'process.executable.name',
  'process.executable.path',
  'process.command',
  'process.command_line',
  'process.owner',
  'process.cgroup',
  'process.linux.cgroup',
] as const;
export type ProcessAttributeKey = (typeof PROCESS_ATTRIBUTE_KEYS)[number];

/** The per-process attributes off by default, as in the receiver (metadata.yaml 26-78). */
export const OPTIONAL_PROCESS_ATTRIBUTES: ReadonlySet<ProcessAttributeKey> = new Set([
  'process.cgroup',
  'process.linux.cgroup',
]);

/** Which metrics and per-process attributes are emitted: the names of PROCESS_METRICS and PROCESS_ATTRIBUTE_KEYS. */
export interface MetricSelection {
  readonly metrics: ReadonlySet<string>;
  readonly attributes: ReadonlySet<ProcessAttributeKey>;
}

/**
 * The simulator's defaults: every metric but the optional ones (all of them with `optionalMetrics`),
 * every attribute but the cgroup ones.
 */
export function defaultSelection(optionalMetrics = false): MetricSelection {
  return {
    metrics: new Set(PROCESS_METRICS.filter((m) => optionalMetrics || !m.optional).map((m) => m.name)),
    attributes: new Set(PROCESS_ATTRIBUTE_KEYS.filter((key) => !OPTIONAL_PROCESS_ATTRIBUTES.has(key))),
  };
}

/** Simulation attribute keys (after the configurable prefix). */
export const SIMULATION_ATTRIBUTE_KEYS = [
  'priority',
  'profile',
  'simulation_id',
  'cpu_pattern',
  'memory_pattern',
] as const;
