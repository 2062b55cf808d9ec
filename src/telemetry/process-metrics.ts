/**
 * The process metrics, named and shaped as the OpenTelemetry Collector's hostmetrics receiver (process
 * scraper) emits them, in one table. `prometheusName` is what the collector's prometheus exporter makes
 * of the same metric (unit suffix, `_total` on monotonic sums), so the simulator's own /metrics and a
 * collector downstream of it show identical names.
 */
import type { ProcessSample } from '../proc/reader.ts';

export type MetricShape = 'counter' | 'updown' | 'gauge';

export interface ProcessMetricDefinition {
  name: string;
  /** name on /metrics, before the `_total` the Prometheus serializer adds to counters */
  prometheusName: string;
  description: string;
  unit: string;
  shape: MetricShape;
  valueType: 'int' | 'double';
  /** off by default in the hostmetrics receiver too */
  optional: boolean;
  /** the attribute key that splits the metric (state, direction, type), with its values */
  split?: { key: string; values: readonly string[] };
  /** value(s) read from a sample, in the order of `split.values` (one value when not split) */
  values(sample: ProcessSample, nowMs: number): readonly number[];
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
    split: { key: 'state', values: ['user', 'system', 'wait'] },
    values: (s) => [s.cpuUserSeconds, s.cpuSystemSeconds, s.cpuWaitSeconds],
  },
  {
    name: 'process.memory.usage',
    prometheusName: 'process_memory_usage_bytes',
    description: 'The amount of physical memory in use.',
    unit: 'By',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    values: (s) => [s.rssBytes],
  },
  {
    name: 'process.memory.virtual',
    prometheusName: 'process_memory_virtual_bytes',
    description: 'Virtual memory size.',
    unit: 'By',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    values: (s) => [s.vmsBytes],
  },
  {
    name: 'process.disk.io',
    prometheusName: 'process_disk_io_bytes',
    description: 'Disk bytes transferred.',
    unit: 'By',
    shape: 'counter',
    valueType: 'int',
    optional: false,
    split: { key: 'direction', values: ['read', 'write'] },
    values: (s) => [s.readChars, s.writeChars],
  },
  {
    name: 'process.threads',
    prometheusName: 'process_threads',
    description: 'Process threads count.',
    unit: '{threads}',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    values: (s) => [s.threads],
  },
  {
    name: 'process.open_file_descriptors',
    prometheusName: 'process_open_file_descriptors',
    description: 'Number of file descriptors in use by the process.',
    unit: '{count}',
    shape: 'updown',
    valueType: 'int',
    optional: false,
    values: (s) => [s.openFds],
  },
  {
    name: 'process.context_switches',
    prometheusName: 'process_context_switches',
    description: 'Number of times the process has been context switched.',
    unit: '{count}',
    shape: 'counter',
    valueType: 'int',
    optional: true,
    split: { key: 'type', values: ['involuntary', 'voluntary'] },
    values: (s) => [s.involuntaryCtxSwitches, s.voluntaryCtxSwitches],
  },
  {
    name: 'process.paging.faults',
    prometheusName: 'process_paging_faults',
    description: 'Number of page faults the process has made.',
    unit: '{faults}',
    shape: 'counter',
    valueType: 'int',
    optional: true,
    split: { key: 'type', values: ['major', 'minor'] },
    values: (s) => [s.majorFaults, s.minorFaults],
  },
  {
    name: 'process.uptime',
    prometheusName: 'process_uptime_seconds',
    description: 'The time the process has been running.',
    unit: 's',
    shape: 'gauge',
    valueType: 'double',
    optional: true,
    values: (s, nowMs) => [Math.max(0, (nowMs - s.startTimeMs) / 1000)],
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
] as const;

/** Simulation attribute keys (after the configurable prefix). */
export const SIMULATION_ATTRIBUTE_KEYS = [
  'priority',
  'profile',
  'simulation_id',
  'cpu_pattern',
  'memory_pattern',
] as const;
