/**
 * Engine objects shaped as API responses (snake_case, ISO times, null for "not yet"). Pure: the routes
 * pass in what the views need, so the numbers a client sees are computed in one place.
 */
import type { z } from '@hono/zod-openapi';
import type { ExitRecord } from '../engine/exit-log.ts';
import type { ExpectedProcess } from '../engine/expected.ts';
import type { Fault } from '../engine/faults.ts';
import type { ProcessInfo, SamplingRecord } from '../engine/managed-process.ts';
import { EXIT_REASONS, type Simulation } from '../engine/simulation.ts';
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import { formatDuration } from '../profiles/units.ts';
import type { SampledProcess } from '../sampler/snapshot.ts';
import type { FaultView } from './schemas/chaos.ts';
import { iso } from './schemas/common.ts';
import type { ExitView, ProcessView, Results } from './schemas/simulations.ts';

type ByPriority = Record<Priority, number>;

/** The shard a simulation holds, or null for a whole (unsharded) run. */
function shardView(simulation: Simulation): { index: number; count: number } | null {
  const { shard } = simulation;
  return shard.count > 1 ? { index: shard.index, count: shard.count } : null;
}

export function simulationView(simulation: Simulation) {
  const { spec } = simulation;
  return {
    id: simulation.id,
    name: spec.name,
    profile: spec.profile.name,
    state: simulation.state,
    seed: spec.seed,
    chaos: spec.chaos,
    duration: spec.durationMs === undefined ? null : formatDuration(spec.durationMs),
    duration_ms: spec.durationMs ?? null,
    created_at: new Date(simulation.createdAtMs).toISOString(),
    started_at: iso(simulation.startedAtMs),
    ended_at: iso(simulation.endedAtMs),
    planned_processes: simulation.plannedCount,
    live_processes: simulation.processes.size,
    shard: shardView(simulation),
    start_at: iso(simulation.spec.startAtMs),
    failure_reason: simulation.failureReason ?? null,
    warning: simulation.rampWarning ?? null,
  };
}

export function processView(
  info: ProcessInfo,
  sampled: SampledProcess | undefined,
  truth: { expected: ExpectedProcess; sampling: Readonly<SamplingRecord> },
): z.infer<typeof ProcessView> {
  const sample = sampled?.sample;
  const { expected, sampling } = truth;
  return {
    pid: info.pid,
    name: info.name,
    priority: info.priority,
    generation: info.generation,
    started_at: new Date(info.startedAtMs).toISOString(),
    patterns: { cpu: info.cpuPattern, memory: info.memoryPattern },
    targets: {
      cpu_percent: info.targets.cpuPermille / 10,
      rss_bytes: info.targets.rssKiB * 1024,
      threads: info.targets.threads,
      fds: info.targets.fds,
    },
    sampled_at: sample ? new Date(sample.readAtMs).toISOString() : null,
    state: sample?.state ?? null,
    cpu_percent: sampled?.cpuPercent === undefined ? null : Math.round(sampled.cpuPercent * 10) / 10,
    rss_bytes: sample?.rssBytes ?? null,
    threads: sample?.threads ?? null,
    fds: sample?.openFds ?? null,
    sampling: {
      samples: sampling.samples,
      first_sampled_at: iso(sampling.firstAtMs),
      last_sampled_at: iso(sampling.lastAtMs),
    },
    expected: {
      executable_name: expected.executableName,
      executable_name_hex: expected.executableNameHex,
      executable_name_utf8: expected.executableNameUtf8,
      executable_path: expected.executablePath,
      executable_deleted: expected.executableDeleted,
      command: expected.command,
      command_line_bytes: expected.commandLineBytes,
      owner: expected.owner,
      uid: expected.uid,
      stopped: expected.stopped,
      threads: expected.threads,
      fds: expected.fds,
      zombie_children: expected.zombieChildren,
      signals_pending: expected.signalsPending,
    },
  };
}

export function exitView(exit: ExitRecord): z.infer<typeof ExitView> {
  return {
    pid: exit.pid,
    name: exit.name,
    priority: exit.priority,
    generation: exit.generation,
    started_at: new Date(exit.startedAtMs).toISOString(),
    exited_at: new Date(exit.exitedAtMs).toISOString(),
    reason: exit.reason,
    exit_code: exit.exitCode ?? null,
    signal: exit.signal ?? null,
    samples: exit.samples,
    first_sampled_at: iso(exit.firstSampledAtMs),
    last_sampled_at: iso(exit.lastSampledAtMs),
    final_reading: exit.finalReading,
  };
}

const total = (counts: ByPriority) => PRIORITIES.reduce((sum, priority) => sum + counts[priority], 0);
const counted = (counts: ByPriority) => ({ total: total(counts), by_priority: { ...counts } });
const times = (counts: ByPriority, factor: number): ByPriority =>
  Object.fromEntries(PRIORITIES.map((priority) => [priority, counts[priority] * factor])) as ByPriority;

/**
 * The ground truth of one simulation. `seriesPerProcess` maps each exported metric to its series per
 * process (process.cpu.time: 3 states, process.disk.io: 2 directions, the others 1).
 */
export function resultsView(
  simulation: Simulation,
  seriesPerProcess: Readonly<Record<string, number>>,
  nowMs: number,
): z.infer<typeof Results> {
  const live = simulation.liveByPriority();
  const peak = simulation.peakLiveByPriority;
  const perProcessTotal = Object.values(seriesPerProcess).reduce((sum, n) => sum + n, 0);
  const exitsByReason = Object.fromEntries(
    EXIT_REASONS.map((reason) => [reason, counted(simulation.exits[reason])]),
  ) as Record<(typeof EXIT_REASONS)[number], ReturnType<typeof counted>>;
  const end = simulation.endedAtMs ?? nowMs;
  let liveSampled = 0;
  for (const process of simulation.processes.values()) if (process.sampling.samples > 0) liveSampled++;
  return {
    simulation_id: simulation.id,
    name: simulation.spec.name,
    profile: simulation.spec.profile.name,
    state: simulation.state,
    seed: simulation.spec.seed,
    started_at: iso(simulation.startedAtMs),
    ended_at: iso(simulation.endedAtMs),
    shard: shardView(simulation),
    start_at: iso(simulation.spec.startAtMs),
    start_skew_ms: simulation.startSkewMs ?? null,
    elapsed_seconds:
      simulation.startedAtMs === undefined ? 0 : Math.max(0, (end - simulation.startedAtMs) / 1000),
    processes: {
      planned: simulation.plannedCount,
      live: counted(live),
      // the whole simulation's peak; by priority, each priority's own peak
      peak: { total: simulation.peakLive, by_priority: { ...peak } },
      started: counted(simulation.starts),
      sampling: {
        live_sampled: liveSampled,
        live_not_yet_sampled: simulation.processes.size - liveSampled,
        exited_sampled: simulation.exitSampling.sampled,
        exited_never_sampled: simulation.exitSampling.neverSampled,
        exited_with_final_reading: simulation.exitSampling.finalReadings,
      },
      exited: {
        total: EXIT_REASONS.reduce((sum, reason) => sum + total(simulation.exits[reason]), 0),
        by_reason: exitsByReason,
      },
    },
    series: {
      total: { current: total(live) * perProcessTotal, peak: simulation.peakLive * perProcessTotal },
      metrics: Object.fromEntries(
        Object.entries(seriesPerProcess).map(([metric, perProcess]) => [
          metric,
          {
            per_process: perProcess,
            current: counted(times(live, perProcess)),
            peak: { total: simulation.peakLive * perProcess, by_priority: times(peak, perProcess) },
          },
        ]),
      ),
    },
    churn_per_minute: simulation.churnPerMinute(),
    chaos: simulation.chaos.map((record) => ({
      fault_id: record.faultId,
      kind: record.kind,
      origin: record.origin,
      at: new Date(record.atMs).toISOString(),
      ended_at: iso(record.endedAtMs),
      pids: [...record.pids],
      names: [...record.names],
    })),
    crashes: simulation.crashes.map((crash) => ({
      pid: crash.pid,
      name: crash.name,
      exit_code: crash.exitCode ?? null,
      signal: crash.signal ?? null,
      at: new Date(crash.atMs).toISOString(),
    })),
    warning: simulation.rampWarning ?? null,
    failure_reason: simulation.failureReason ?? null,
  };
}

export function faultView(fault: Fault, names: ReadonlyMap<number, string>): z.infer<typeof FaultView> {
  const pids = [...fault.pids];
  return {
    id: fault.id,
    kind: fault.kind,
    origin: fault.origin,
    simulation_id: fault.simulationId ?? null,
    pids,
    names: pids.map((pid) => names.get(pid) ?? '?'),
    started_at: new Date(fault.startedAtMs).toISOString(),
    ends_at: new Date(fault.endsAtMs).toISOString(),
    intensity_percent: fault.intensityPercent ?? null,
    leak_bytes_per_second: fault.leakBytesPerSecond ?? null,
    signal: fault.signal ?? null,
  };
}
