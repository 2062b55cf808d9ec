/**
 * Generated ground truths and a model pipeline that delivers them, for property tests of the pure
 * comparison: the pipeline does what a collector config would (pass through, drop priorities, rename
 * or remove attributes, sum per name, keep exited processes for a while, lag behind) and hands over an
 * Observation in OTLP or Prometheus naming. Tests then check that the comparison passes exactly what
 * the declared expectations describe, and names what a pipeline did beyond them.
 */
import fc from 'fast-check';
import { PRIORITIES, type Priority } from '../../src/profiles/schema.ts';
import { defaultSelection } from '../../src/telemetry/process-metrics.ts';
import { fieldOf } from '../../src/verify/compare/bracket.ts';
import { prometheusLabel } from '../../src/verify/compare/plan.ts';
import { exportedMetrics } from '../../src/verify/ground-truth.ts';
import type { HostView } from '../../src/verify/host.ts';
import type { Naming, Observation, ObservedMetric } from '../../src/verify/observation.ts';
import {
  FIELD_INDEX,
  type GroundTruth,
  type Reading,
  type TruthExit,
  type TruthProcess,
} from '../../src/verify/truth.ts';

/** The moment of the observation in every generated case. */
export const NOW = 1_900_000_000_000;
const INTERVAL = 1000;
const NAMES = ['api', 'db', 'worker', 'job-a', 'cache'] as const;

/** A host view of the verifier that shares the simulator's kernel and PID namespace. */
export const SAME_NAMESPACE: HostView = {
  bootId: () => 'boot-1',
  pidNamespace: () => 'pid:[4026531836]',
  nspid: () => null,
  startTicks: () => null,
};

interface ProcessSeed {
  name: (typeof NAMES)[number];
  priority: Priority;
  ageS: number;
  threads: number;
  fds: number;
  cpuPerS: number;
  memory: number;
  memorySteps: number[];
}

const processSeed = fc.record({
  name: fc.constantFrom(...NAMES),
  priority: fc.constantFrom(...PRIORITIES),
  // Older than any max_delay the tests use, so every process is due.
  ageS: fc.integer({ min: 60, max: 3600 }),
  threads: fc.integer({ min: 1, max: 16 }),
  fds: fc.integer({ min: 3, max: 64 }),
  cpuPerS: fc.integer({ min: 0, max: 50 }),
  memory: fc.integer({ min: 1, max: 1000 }),
  memorySteps: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 40, maxLength: 40 }),
});

const exitSeed = fc.record({
  name: fc.constantFrom(...NAMES),
  priority: fc.constantFrom(...PRIORITIES),
  agoS: fc.integer({ min: 2, max: 250 }),
});

function readingsOf(seed: ProcessSeed, startMs: number): Reading[] {
  const readings: Reading[] = [];
  let memoryPages = seed.memory * 256;
  // One reading a second for the last 40 s, the last one right after the observation (the fresh one).
  for (let i = 0; i < 40; i++) {
    const time = i === 39 ? NOW + 20 : NOW - (39 - i) * INTERVAL + 7;
    const aliveS = (time - startMs) / 1000;
    memoryPages = Math.max(64, memoryPages + (seed.memorySteps[i] ?? 0));
    const ticks = Math.floor(aliveS * seed.cpuPerS);
    readings.push([
      time,
      ticks / 100,
      Math.floor(ticks / 4) / 100,
      0,
      memoryPages * 4096,
      memoryPages * 4096 + 4 * 2 ** 20,
      seed.threads,
      seed.fds,
      Math.floor(aliveS * 640),
      Math.floor(aliveS * 64),
      0,
      0,
      0,
      0,
    ]);
  }
  return readings;
}

export interface TruthCase {
  truth: GroundTruth;
}

/** Ground truths: 1-10 live processes and 0-8 exits, with or without the simulation attributes. */
export const truths = fc
  .record({
    processes: fc.array(processSeed, { minLength: 1, maxLength: 10 }),
    exits: fc.array(exitSeed, { maxLength: 8 }),
    attributes: fc.boolean(),
  })
  .map(({ processes, exits, attributes }): GroundTruth => {
    let pid = 1000;
    const live: TruthProcess[] = processes.map((seed) => {
      const startMs = NOW - seed.ageS * 1000;
      pid += 7;
      return {
        pid,
        name: seed.name,
        priority: seed.priority,
        profile: 'generated',
        cpu_pattern: 'steady',
        memory_pattern: 'random',
        started_at_ms: startMs + 3,
        start_time_ms: startMs,
        start_ticks: seed.ageS * 100,
        ppid: 42,
        executable_path: `/run/psim/bin/${seed.name}`,
        command_line: [seed.name, '--port', String(pid)],
        owner: 'root',
        readings: readingsOf(seed, startMs),
      };
    });
    const gone: TruthExit[] = exits.map((seed, i) => {
      pid += 7;
      return {
        pid,
        name: seed.name,
        priority: seed.priority,
        reason: 'lifetime',
        // Starts 3 s apart at least: two exits of one name started within the start-time tolerance
        // cannot be told apart without their PIDs, by anyone.
        started_at_ms: NOW - seed.agoS * 1000 - 60_000 - i * 3000,
        exited_at_ms: NOW - seed.agoS * 1000,
      };
    });
    return {
      version: 1,
      simulation: {
        id: 'sim-1',
        name: 'generated-1',
        profile: 'generated',
        state: 'running',
        started_at_ms: NOW - 3_600_000,
        ended_at_ms: null,
      },
      taken_at_ms: NOW + 25,
      interval_ms: INTERVAL,
      clock_ticks: 100,
      page_size: 4096,
      boot_time_seconds: 1_800_000_000,
      host: { boot_id: 'boot-1', pid_namespace: 'pid:[4026531836]' },
      simulation_attribute_prefix: attributes ? 'simulator.' : null,
      metrics: exportedMetrics(defaultSelection()),
      readings_from_ms: NOW - 40_000,
      processes: live,
      exits: gone.sort((a, b) => a.exited_at_ms - b.exited_at_ms),
      exits_total: gone.length,
      exit_log_limit: 10_000,
    };
  });

/** What a model pipeline does. */
export interface PipelineModel {
  naming: Naming;
  /** priorities it drops */
  drop: Priority[];
  /** attribute renames it applies, old: new */
  renamed: Record<string, string>;
  /** attribute keys it removes */
  removed: string[];
  /** attribute keys it adds (with the value "x") */
  added: string[];
  /** sums the processes sharing these attributes */
  aggregateBy: string[] | undefined;
  /** how long after its exit a process stays downstream */
  lingerMs: number;
  /** how old the delivered readings are, in readings (0 = the newest before the observation) */
  lagReadings: number;
}

export const pipelines = fc.record({
  naming: fc.constantFrom<Naming>('otlp', 'prometheus'),
  drop: fc.subarray([...PRIORITIES], { maxLength: 2 }),
  renamed: fc.constantFrom<Record<string, string>>(
    {},
    { 'process.owner': 'owner' },
    { 'process.command': 'cmd' },
  ),
  removed: fc.constantFrom<string[]>(
    [],
    ['process.command_line'],
    ['process.executable.path', 'process.parent_pid'],
  ),
  added: fc.constantFrom<string[]>([], ['deployment.environment']),
  aggregateBy: fc.constantFrom<string[] | undefined>(undefined, undefined, ['process.executable.name']),
  lingerMs: fc.integer({ min: 0, max: 30_000 }),
  lagReadings: fc.integer({ min: 0, max: 10 }),
});

/** The expectations that declare exactly what `model` does. */
export function declared(model: PipelineModel, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...(model.drop.length ? { drop: { priorities: model.drop } } : {}),
    attributes: { removed: model.removed, renamed: model.renamed, added: model.added },
    ...(model.aggregateBy ? { aggregate: { by: model.aggregateBy } } : {}),
    staleness: '40s',
    max_delay: '15s',
    ...extra,
  };
}

/** The attributes the simulator writes on one series of a process, as the simulator names them. */
function attributesOf(truth: GroundTruth, process: TruthProcess): Record<string, string> {
  const attributes: Record<string, string> = {
    'process.pid': String(process.pid),
    'process.parent_pid': String(process.ppid),
    'process.executable.name': process.name,
    'process.executable.path': process.executable_path ?? '',
    'process.command': process.command_line?.[0] ?? '',
    'process.command_line': process.command_line?.join(' ') ?? '',
    'process.owner': process.owner ?? '',
  };
  const prefix = truth.simulation_attribute_prefix;
  if (prefix !== null) {
    attributes[`${prefix}priority`] = process.priority;
    attributes[`${prefix}profile`] = process.profile;
    attributes[`${prefix}simulation_id`] = truth.simulation.id;
    attributes[`${prefix}cpu_pattern`] = process.cpu_pattern;
    attributes[`${prefix}memory_pattern`] = process.memory_pattern;
  }
  return attributes;
}

/** The value of a metric in a reading (see fieldOf). */
function valueIn(metric: string, split: string | undefined, reading: Reading): number {
  const field = fieldOf(metric, split);
  return field === undefined ? 0 : (reading[FIELD_INDEX[field]] as number);
}

/** What `model` delivers of `truth`, observed at NOW. */
export function deliver(truth: GroundTruth, model: PipelineModel): Observation {
  const name = (metric: GroundTruth['metrics'][number]) =>
    model.naming === 'prometheus' ? metric.prometheus_name : metric.name;
  const label = (key: string) => {
    const renamed = model.renamed[key] ?? key;
    return model.naming === 'prometheus' ? prometheusLabel(renamed) : renamed;
  };
  const shape = (attributes: Record<string, string>) => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(attributes)) {
      if (model.removed.includes(key)) continue;
      out[label(key)] = value;
    }
    for (const key of model.added) out[label(key)] = 'x';
    if (model.naming === 'prometheus') {
      // What a scrape adds: not part of a process's identity.
      out.job = 'collector';
      out.instance = '127.0.0.1:8889';
    }
    return out;
  };
  const kept = (priority: Priority) => !model.drop.includes(priority);
  const metrics = new Map<string, ObservedMetric>();
  for (const metric of truth.metrics) {
    const series: ObservedMetric['series'] = [];
    const splits = metric.split ? metric.split.values : [undefined];
    const groups = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const process of truth.processes) {
      if (!kept(process.priority)) continue;
      // The newest reading before the observation, lagReadings back.
      const before = process.readings.filter((reading) => (reading[0] as number) <= NOW);
      const reading = before[Math.max(0, before.length - 1 - model.lagReadings)] as Reading;
      for (const split of splits) {
        const all = {
          ...attributesOf(truth, process),
          ...(split && metric.split ? { [metric.split.key]: split } : {}),
        };
        const value = valueIn(metric.name, split, reading);
        if (model.aggregateBy) {
          const by = Object.fromEntries(
            [...model.aggregateBy, ...(metric.split ? [metric.split.key] : [])].map((key) => [
              key,
              all[key] ?? '',
            ]),
          );
          const key = JSON.stringify(by);
          const group = groups.get(key) ?? { labels: shape(by), value: 0 };
          group.value += value;
          groups.set(key, group);
          continue;
        }
        series.push({
          labels: shape(all),
          value,
          pointTimeMs: model.naming === 'otlp' ? (reading[0] as number) : undefined,
          startTimeMs: model.naming === 'otlp' ? (process.start_time_ms ?? undefined) : undefined,
        });
      }
    }
    for (const group of groups.values())
      series.push({
        labels: group.labels,
        value: group.value,
        pointTimeMs: undefined,
        startTimeMs: undefined,
      });
    // Exited processes the pipeline still holds (not when it aggregates: their share is gone from the sums).
    if (!model.aggregateBy) {
      for (const exit of truth.exits) {
        if (!kept(exit.priority) || NOW - exit.exited_at_ms >= model.lingerMs) continue;
        const attributes = shape(
          attributesOf(truth, {
            ...(truth.processes[0] as TruthProcess),
            pid: exit.pid,
            name: exit.name,
            priority: exit.priority,
            command_line: [exit.name],
          }),
        );
        for (const split of splits)
          series.push({
            labels: { ...attributes, ...(split && metric.split ? { [label(metric.split.key)]: split } : {}) },
            value: 1,
            pointTimeMs: model.naming === 'otlp' ? exit.exited_at_ms - 500 : undefined,
            startTimeMs: model.naming === 'otlp' ? exit.started_at_ms : undefined,
          });
      }
    }
    if (series.length > 0)
      metrics.set(name(metric), { name: name(metric), type: typeFor(model.naming, metric), series });
  }
  const lastSeen: Observation['lastSeen'] = model.aggregateBy
    ? []
    : truth.exits
        .filter((exit) => kept(exit.priority))
        .map((exit) => ({
          labels: shape({ 'process.pid': String(exit.pid), 'process.executable.name': exit.name }),
          startTimeMs: model.naming === 'otlp' ? exit.started_at_ms : undefined,
          lastSeenMs: Math.min(NOW, exit.exited_at_ms + model.lingerMs) - 1,
        }));
  return {
    source: model.naming === 'otlp' ? 'otlp-sink' : 'prometheus',
    location: 'model pipeline',
    naming: model.naming,
    observedAtMs: NOW,
    readTimeKnown: model.naming === 'otlp',
    metrics,
    lastSeen,
    lastSeenFromMs: NOW - 300_000,
    lastSeenStepMs: model.naming === 'otlp' ? 0 : 1000,
    otherNames: [],
    notes: [],
    overflow: { series: 0, points: 0 },
  };
}

function typeFor(naming: Naming, metric: GroundTruth['metrics'][number]): ObservedMetric['type'] {
  if (naming === 'prometheus') return { kind: metric.shape === 'counter' ? 'counter' : 'gauge' };
  return metric.shape === 'gauge'
    ? { kind: 'gauge', unit: metric.unit, valueType: metric.value_type }
    : {
        kind: 'sum',
        monotonic: metric.shape === 'counter',
        temporality: 'cumulative',
        unit: metric.unit,
        valueType: metric.value_type,
      };
}
