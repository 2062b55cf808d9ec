/**
 * Aggregating pipelines (expectations `aggregate.by`): each downstream series is the sum over the
 * processes that share the `by` attributes. Groups are matched by those values, their sums bracketed
 * by the sums of the members' readings, and a group whose processes all exited must leave in time.
 */
import type { Expectations } from '../expectations.ts';
import type { Observation, ObservedSeries } from '../observation.ts';
import type { GroundTruth, TruthExit, TruthProcess } from '../truth.ts';
import { type Bounds, boundsOf, bracketReadings, sumBounds, within } from './bracket.ts';
import { CheckTally } from './checks.ts';
import type { checkLinger } from './linger.ts';
import type { MetricPlan, Plan } from './plan.ts';
import type { KeyIssues } from './shape.ts';
import { labelsText, seriesKey, splitText, type Walk } from './walk.ts';

export function groupKeyOf(plan: Plan, process: TruthProcess): string {
  return (plan.groupBy ?? []).map((attribute) => attribute.valueOf(process) ?? '').join('\u0000');
}

/** The expected processes by group. */
export function groupsOf(walk: Walk): Map<string, TruthProcess[]> {
  const groups = new Map<string, TruthProcess[]>();
  for (const process of walk.expected) {
    const key = groupKeyOf(walk.plan, process);
    groups.set(key, [...(groups.get(key) ?? []), process]);
  }
  return groups;
}

/** An exited process as far as the truth still knows it, to find its group. */
function exitAsProcess(exit: TruthExit, truth: GroundTruth): TruthProcess {
  return {
    pid: exit.pid,
    name: exit.name,
    priority: exit.priority,
    profile: truth.simulation.profile,
    cpu_pattern: '',
    memory_pattern: '',
    started_at_ms: exit.started_at_ms,
    start_time_ms: null,
    start_ticks: null,
    ppid: null,
    executable_path: null,
    command_line: null,
    owner: null,
    readings: [],
  };
}

/** One downstream series of an aggregating pipeline. */
export function walkGroupSeries(
  walk: Walk,
  groups: ReadonlyMap<string, TruthProcess[]>,
  keys: KeyIssues,
  metric: MetricPlan,
  series: ObservedSeries,
  split: string | undefined,
): void {
  const { plan, truth, tallies } = walk;
  const by = plan.groupBy ?? [];
  const key = by.map((attribute) => series.labels[attribute.label] ?? '').join('\u0000');
  const members = groups.get(key);
  const text = by
    .map((attribute) => `${attribute.label}=${JSON.stringify(series.labels[attribute.label] ?? null)}`)
    .join(', ');
  keys.check(metric, series, {});
  const exitedOfGroup = (since: number) =>
    truth.exits.filter(
      (exit) =>
        exit.exited_at_ms >= since &&
        plan.keeps(exit) &&
        groupKeyOf(plan, exitAsProcess(exit, truth)) === key,
    );
  if (!members) {
    const exited = exitedOfGroup(Number.NEGATIVE_INFINITY);
    if (exited.length > 0) {
      walk.presentNow.add(exited.reduce((a, b) => (a.exited_at_ms > b.exited_at_ms ? a : b)));
      return;
    }
    tallies.extra.fail({
      kind: 'unknown',
      metric: metric.name,
      observed: text,
      message: `${splitText(metric, split)} for ${text}: no live simulated process of this simulation falls in this group`,
    });
    return;
  }
  const found = seriesKey(`group:${key}`, metric.name, split);
  if (walk.presentKeys.has(found)) {
    tallies.extra.fail({
      kind: 'duplicate',
      metric: metric.name,
      observed: labelsText(series.labels),
      message: `a second ${splitText(metric, split)} series for ${text}`,
    });
    return;
  }
  walk.presentKeys.add(found);
  tallies.extra.ok();
  // The members' exits inside the window may or may not be in the sum: their readings are gone.
  if (exitedOfGroup(walk.window.fromMs).length > 0) {
    walk.skew.unbracketed++;
    return;
  }
  const parts: Bounds[] = [];
  let complete = true;
  for (const process of members) {
    const bracket = bracketReadings(process.readings, { pointTimeMs: undefined, ...walk.window });
    const bounds =
      bracket &&
      boundsOf(truth, walk.expectations, metric.metric, split, bracket.readings, process.start_time_ms);
    if (!bracket || !bounds || (!bracket.complete && !walk.young(process))) {
      walk.skew.unbracketed++;
      return;
    }
    complete &&= bracket.complete;
    parts.push(bounds);
  }
  const bounds = sumBounds(parts);
  if (within(series.value, bounds)) tallies.values.ok();
  // A young member may have been read before the simulator's first reading of it: judged later.
  else if (!complete) tallies.values.wait();
  else
    tallies.values.fail({
      kind: 'value',
      metric: metric.name,
      expected: bounds.describe,
      observed: String(series.value),
      message: `${splitText(metric, split)} for ${text}: ${series.value}, expected ${bounds.describe}`,
    });
}

/** A group whose processes all exited must be gone within the staleness; single lingers are unknowable. */
export function checkGroupLinger(
  observation: Observation,
  expectations: Expectations,
  presentNow: ReadonlySet<TruthExit>,
): ReturnType<typeof checkLinger> {
  const tally = new CheckTally('disappearance');
  const now = observation.observedAtMs;
  for (const exit of presentNow) {
    const linger = now - exit.exited_at_ms;
    if (linger > expectations.stalenessMs)
      tally.fail({
        kind: 'lingering',
        name: exit.name,
        priority: exit.priority,
        expected: `gone within ${expectations.stalenessMs / 1000} s`,
        observed: `still present ${Math.round(linger / 100) / 10} s after the last exit`,
        message: `the group of ${exit.name} has no live process since ${new Date(exit.exited_at_ms).toISOString()} and is still present downstream`,
      });
    else tally.wait();
  }
  return {
    tally,
    stats: {
      allowed_seconds: expectations.stalenessMs / 1000,
      exits_checked: 0,
      seen_after_exit: 0,
      still_present: presentNow.size,
      overdue: tally.failed,
      max_seconds: null,
      p50_seconds: null,
      lookback_seconds: 0,
      resolution_seconds: 0,
    },
  };
}
