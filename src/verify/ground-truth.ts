/**
 * Builds the ground truth of one simulation on the simulator's side: its live processes with their
 * identity and recent readings, a fresh reading of each taken now (so that anything a pipeline read
 * before this moment lies between two readings), and the newest exits.
 */
import type { Engine } from '../engine/engine.ts';
import type { ProcessIdentity, ProcReader } from '../proc/reader.ts';
import type { SnapshotStore } from '../sampler/snapshot.ts';
import {
  type MetricSelection,
  PROCESS_ATTRIBUTE_KEYS,
  PROCESS_METRICS,
} from '../telemetry/process-metrics.ts';
import type { HostView } from './host.ts';
import { type ReadingHistory, toReading } from './readings.ts';
import type { GroundTruth, TruthMetric, TruthProcess } from './truth.ts';

export interface GroundTruthSource {
  engine: Engine;
  store: SnapshotStore;
  history: ReadingHistory;
  /** reads the fresh readings (and the identity of a process no sample has seen yet) */
  reader: ProcReader;
  host: HostView;
  intervalMs: number;
  /** prefix of the simulation attributes, undefined when they are off */
  simulationPrefix: string | undefined;
  /** the metrics and per-process attributes the simulator exports (OPTIONAL_METRICS, METRICS_CONFIG) */
  selection: MetricSelection;
}

/** Processes read between two yields to the event loop. */
const CHUNK = 500;

/** The metrics the simulator exports, as the truth describes them. */
export function exportedMetrics(selection: MetricSelection): TruthMetric[] {
  return PROCESS_METRICS.filter((metric) => selection.metrics.has(metric.name)).map((metric) => ({
    name: metric.name,
    prometheus_name: metric.shape === 'counter' ? `${metric.prometheusName}_total` : metric.prometheusName,
    unit: metric.unit,
    shape: metric.shape,
    value_type: metric.valueType,
    split: metric.split ? { key: metric.split.key, values: [...metric.split.values] } : null,
  }));
}

/**
 * The ground truth of simulation `id`, with readings from `sinceMs` on (plus the one just before);
 * with `processes: false` only the simulation, the host and the metrics (no reading is taken).
 * @throws EngineError not_found for an unknown simulation
 */
export async function buildGroundTruth(
  source: GroundTruthSource,
  id: string,
  options: { sinceMs?: number; processes?: boolean } = {},
): Promise<GroundTruth> {
  const simulation = source.engine.getSimulation(id);
  const sinceMs = options.sinceMs ?? Number.NEGATIVE_INFINITY;
  const withProcesses = options.processes ?? true;
  const snapshot = source.store.latest().processes;
  const live = withProcesses ? source.engine.processesOf(id) : [];
  const processes: TruthProcess[] = [];
  for (let i = 0; i < live.length; i++) {
    const info = live[i] as (typeof live)[number];
    const sampled = snapshot.get(info.pid);
    let identity: ProcessIdentity | undefined = sampled?.identity;
    identity ??= source.reader.readIdentity(info.pid);
    const fresh = source.reader.readProcess(info.pid);
    const sample = fresh ?? sampled?.sample;
    const readings = source.history.readingsOf(info.pid, sinceMs);
    if (fresh) readings.push(toReading(fresh));
    processes.push({
      pid: info.pid,
      name: info.name,
      priority: info.priority,
      profile: info.profile,
      cpu_pattern: info.cpuPattern,
      memory_pattern: info.memoryPattern,
      started_at_ms: info.startedAtMs,
      start_time_ms: sample?.startTimeMs ?? null,
      start_ticks: sample?.startTicks ?? null,
      ppid: sample?.ppid ?? null,
      executable_path: identity?.executablePath ?? null,
      command_line: identity ? [...identity.commandLine] : null,
      owner: identity?.owner ?? null,
      readings,
    });
    if ((i + 1) % CHUNK === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const takenAtMs = Date.now();
  return {
    version: 1,
    simulation: {
      id: simulation.id,
      name: simulation.spec.name,
      profile: simulation.spec.profile.name,
      state: simulation.state,
      started_at_ms: simulation.startedAtMs ?? null,
      ended_at_ms: simulation.endedAtMs ?? null,
      ...(simulation.shard.count > 1 ? { shard: { ...simulation.shard } } : {}),
    },
    taken_at_ms: takenAtMs,
    interval_ms: source.intervalMs,
    clock_ticks: source.reader.clockTicks,
    page_size: source.reader.pageSize,
    boot_time_seconds: source.reader.bootTimeSeconds,
    host: { boot_id: source.host.bootId(), pid_namespace: source.host.pidNamespace('self') },
    simulation_attribute_prefix: source.simulationPrefix ?? null,
    metrics: exportedMetrics(source.selection),
    process_attribute_keys: PROCESS_ATTRIBUTE_KEYS.filter((key) => source.selection.attributes.has(key)),
    // An empty history reads as "from now": JSON has no Infinity.
    readings_from_ms: Math.min(source.history.fromMs, takenAtMs),
    processes,
    exits: (withProcesses ? simulation.exitLog.list() : []).map((exit) => ({
      pid: exit.pid,
      name: exit.name,
      priority: exit.priority,
      reason: exit.reason,
      started_at_ms: exit.startedAtMs,
      exited_at_ms: exit.exitedAtMs,
    })),
    exits_total: simulation.exitLog.total,
    exit_log_limit: simulation.exitLog.limit,
  };
}
