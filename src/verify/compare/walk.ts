/**
 * The state one comparison shares between its parts (shape, values, groups, presence): the inputs,
 * the plan, the time window values may come from, the tallies of the checks, and what has been found
 * downstream so far.
 */
import type { Expectations } from '../expectations.ts';
import type { Observation } from '../observation.ts';
import type { GroundTruth, TruthExit, TruthProcess } from '../truth.ts';
import { CheckTally } from './checks.ts';
import { type MetricPlan, makePlan, type Plan } from './plan.ts';

export interface Walk {
  truth: GroundTruth;
  observation: Observation;
  expectations: Expectations;
  plan: Plan;
  /** values seen downstream were read in this window: from max_delay before the observation to it */
  window: { fromMs: number; toMs: number };
  tallies: Record<'presence' | 'shape' | 'values' | 'extra', CheckTally>;
  /** the processes the pipeline should deliver */
  expected: TruthProcess[];
  /** started within the window: absence or a value out of range is not yet a difference */
  young(process: TruthProcess): boolean;
  /** keys (pid or group, metric, split value) of the series found downstream */
  presentKeys: Set<string>;
  /** exited processes still downstream now */
  presentNow: Set<TruthExit>;
  /** the widest bracket met, and values that could not be bracketed */
  skew: { widestMs: number; widestCpuS: number; unbracketed: number };
  notes: string[];
}

export function createWalk(truth: GroundTruth, observation: Observation, expectations: Expectations): Walk {
  const plan = makePlan(truth, expectations, observation.naming);
  const now = observation.observedAtMs;
  // The value was read at the latest when it was observed; the truth's fresh readings come after that.
  const window = { fromMs: now - expectations.maxDelayMs, toMs: now };
  return {
    truth,
    observation,
    expectations,
    plan,
    window,
    tallies: {
      presence: new CheckTally('presence'),
      shape: new CheckTally('shape'),
      values: new CheckTally('values'),
      extra: new CheckTally('extra-series'),
    },
    expected: truth.processes.filter((process) => plan.keeps(process)),
    young: (process) => (process.start_time_ms ?? process.started_at_ms) > window.fromMs,
    presentKeys: new Set(),
    presentNow: new Set(),
    skew: { widestMs: 0, widestCpuS: 0, unbracketed: 0 },
    notes: [...observation.notes],
  };
}

/** "pid 1234 nginx-worker (high)" */
export const describe = (process: { pid: number; name: string; priority: string }) =>
  `pid ${process.pid} ${process.name} (${process.priority})`;

/** A metric with its split value, e.g. process_cpu_time_seconds_total{state="user"}. */
export const splitText = (plan: MetricPlan, split: string | undefined) =>
  split === undefined || !plan.metric.split ? plan.name : `${plan.name}{${plan.metric.split.key}="${split}"}`;

/** Labels as text, cut at 300 characters. */
export function labelsText(labels: Readonly<Record<string, string>>): string {
  const text = Object.entries(labels)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(', ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The key of a series found downstream: a process's PID or a group, the metric, the split value. */
export const seriesKey = (owner: number | string, metric: string, split: string | undefined) =>
  `${owner}\u0000${metric}\u0000${split}`;
