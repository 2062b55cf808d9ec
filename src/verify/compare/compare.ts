/**
 * The comparison: what a pipeline delivered (an Observation) against what the simulator produced (its
 * GroundTruth), under what the pipeline is meant to do (Expectations). Pure apart from the PID lookups
 * of the matcher; every difference names the PID, the process, the metric, what was expected and
 * what was seen. This file walks the downstream series and matches each to a process; the checks
 * live beside it (shape, values, groups, presence, linger).
 */
import { describeExpectations, type Expectations } from '../expectations.ts';
import type { HostView } from '../host.ts';
import type { Observation, ObservedSeries } from '../observation.ts';
import type { CheckResult, MatchMethod, Report } from '../report.ts';
import type { GroundTruth, TruthProcess } from '../truth.ts';
import { CheckTally, counts } from './checks.ts';
import { checkGroupLinger, groupsOf, walkGroupSeries } from './groups.ts';
import { checkLinger } from './linger.ts';
import { createMatcher, type Matcher, type MatchResult } from './match.ts';
import type { MetricPlan } from './plan.ts';
import { checkCounts, checkPresence } from './presence.ts';
import { checkType, KeyIssues } from './shape.ts';
import { matchingNote, skewText } from './texts.ts';
import { checkAttributeValues, checkValue } from './values.ts';
import { createWalk, describe, labelsText, seriesKey, splitText, type Walk } from './walk.ts';

export interface CompareInput {
  truth: GroundTruth;
  observation: Observation;
  expectations: Expectations;
  /** the verifier's own /proc, to map PIDs seen from another namespace; undefined: no lookups */
  host: HostView | undefined;
  startedAtMs: number;
  attempts: number;
}

/** Downstream processes told apart only by a name and command line several simulated ones share. */
interface Ambiguous {
  candidates: TruthProcess[];
  identities: Set<string>;
  series: number;
  /** series per metric and split value */
  metrics: Map<string, number>;
}

export function compare(input: CompareInput): Report {
  const { truth, observation, expectations } = input;
  const walk = createWalk(truth, observation, expectations);
  const { plan, tallies } = walk;
  const matcher = createMatcher(truth, input.host, (exit) => plan.keeps(exit));
  const match = cachedMatch(walk, matcher);
  const groups = plan.groupBy ? groupsOf(walk) : new Map<string, TruthProcess[]>();
  const keys = new KeyIssues(plan);
  const methods = new Map<MatchMethod, Set<number>>();
  const matchedBy = (method: MatchMethod, pid: number) => {
    const pids = methods.get(method) ?? new Set<number>();
    pids.add(pid);
    methods.set(method, pids);
  };
  const unmatched = new Set<string>();
  const checkedAttributes = new Set<string>();
  const ambiguous = new Map<string, Ambiguous>();

  for (const metric of plan.metrics) {
    const observed = observation.metrics.get(metric.name);
    if (!observed || observed.series.length === 0) {
      // Absent is right when nothing is expected, and not yet wrong while every expected process is young.
      if (!walk.expected.some((process) => !walk.young(process))) continue;
      const similar = observation.otherNames.length
        ? `; similar names downstream: ${observation.otherNames.slice(0, 8).join(', ')}`
        : '';
      tallies.shape.fail({
        kind: 'metric-missing',
        metric: metric.name,
        expected: metric.name,
        observed: 'absent',
        message: `no series named ${metric.name} downstream${similar}`,
      });
      continue;
    }
    checkType(tallies.shape, metric, observed, plan);
    for (const series of observed.series) {
      const split = metric.splitLabel === undefined ? undefined : series.labels[metric.splitLabel];
      if (
        metric.metric.split &&
        metric.splitLabel !== undefined &&
        !metric.metric.split.values.includes(split ?? '')
      ) {
        tallies.extra.fail({
          kind: 'unknown',
          metric: metric.name,
          attribute: metric.splitLabel,
          observed: split ?? 'absent',
          expected: metric.metric.split.values.join(' | '),
          message: `${metric.name} series with ${metric.splitLabel}=${JSON.stringify(split ?? null)}, which the simulator never writes`,
        });
        continue;
      }
      if (plan.groupBy) {
        walkGroupSeries(walk, groups, keys, metric, series, split);
        continue;
      }
      const result = match(series);
      const target = result.target;
      keys.check(
        metric,
        series,
        target?.kind === 'live'
          ? target.process
          : target?.kind === 'exited'
            ? target.exit
            : { name: plan.nameLabel ? series.labels[plan.nameLabel] : undefined },
      );
      if (target === undefined) {
        if (result.reason === 'ambiguous')
          noteAmbiguous(walk, ambiguous, result.candidates, metric, series, split);
        else unmatched.add(unknownSeries(walk, metric, series, split));
        continue;
      }
      if (target.kind === 'exited') {
        if (plan.keeps(target.exit)) walk.presentNow.add(target.exit);
        else notDropped(walk, target.exit, metric, split);
        continue;
      }
      const process = target.process;
      matchedBy(result.method as MatchMethod, process.pid);
      if (!plan.keeps(process)) {
        notDropped(walk, process, metric, split);
        continue;
      }
      const key = seriesKey(process.pid, metric.name, split);
      if (walk.presentKeys.has(key)) {
        tallies.extra.fail({
          kind: 'duplicate',
          pid: process.pid,
          name: process.name,
          priority: process.priority,
          metric: metric.name,
          observed: labelsText(series.labels),
          message: `${describe(process)}: a second ${splitText(metric, split)} series (${labelsText(series.labels)})`,
        });
        continue;
      }
      walk.presentKeys.add(key);
      tallies.extra.ok();
      checkAttributeValues(walk, checkedAttributes, process, series, result.method as MatchMethod);
      checkValue(walk, metric, split, series, process);
    }
  }
  resolveAmbiguous(walk, ambiguous, matchedBy);

  // Metrics the pipeline should drop must be absent.
  for (const metric of plan.dropped) {
    const observed = observation.metrics.get(metric.name);
    if (observed && observed.series.length > 0)
      tallies.extra.fail({
        kind: 'not-dropped',
        metric: metric.name,
        observed: `${observed.series.length} series`,
        message: `${metric.name} has ${observed.series.length} series although the expectations drop it`,
      });
  }
  keys.report(tallies.shape);
  const counted = checkCounts(checkPresence(walk, groups));
  let linger: ReturnType<typeof checkLinger>;
  if (plan.groupBy) {
    linger = checkGroupLinger(observation, expectations, walk.presentNow);
    walk.notes.push(
      'the pipeline aggregates processes: the linger of single exits cannot be measured, only that groups without a live process are gone in time',
    );
  } else {
    linger = checkLinger({ truth, observation, expectations, plan, matcher, presentNow: walk.presentNow });
  }

  const checks = results(walk, linger, counted.tally);
  if (walk.skew.unbracketed > 0)
    walk.notes.push(
      `${walk.skew.unbracketed} values were not compared: the simulator's readings start at ${new Date(truth.readings_from_ms).toISOString()}, after the time they were read`,
    );
  walk.notes.push(matchingNote(matcher.view));
  const methodCounts: Partial<Record<MatchMethod, number>> = {};
  for (const [method, pids] of methods) methodCounts[method] = pids.size;
  return {
    verdict: checks.every((check) => check.passed) ? 'pass' : 'fail',
    simulation: {
      id: truth.simulation.id,
      name: truth.simulation.name,
      profile: truth.simulation.profile,
      state: truth.simulation.state,
    },
    source: {
      kind: observation.source,
      location: observation.location,
      naming: observation.naming,
      observed_at: new Date(observation.observedAtMs).toISOString(),
    },
    expectations: { origin: expectations.origin, summary: describeExpectations(expectations) },
    started_at: new Date(input.startedAtMs).toISOString(),
    finished_at: new Date().toISOString(),
    attempts: input.attempts,
    skew: skewText(observation, expectations, truth, walk.skew),
    matching: { methods: methodCounts, unmatched: unmatched.size, note: matchingNote(matcher.view) },
    linger: linger.stats,
    series: counted.series,
    checks,
    notes: walk.notes,
  };
}

/** Matches a series to a process, once per distinct identity (a process has ~9 series). */
function cachedMatch(walk: Walk, matcher: Matcher): (series: ObservedSeries) => MatchResult {
  const { plan } = walk;
  const cache = new Map<string, MatchResult>();
  return (series) => {
    const pidText = plan.pidLabel === undefined ? undefined : series.labels[plan.pidLabel];
    const identity = {
      pid: pidText === undefined || !/^\d+$/.test(pidText) ? undefined : Number(pidText),
      name: plan.nameLabel === undefined ? undefined : series.labels[plan.nameLabel],
      commandLine: plan.commandLineLabel === undefined ? undefined : series.labels[plan.commandLineLabel],
      startTimeMs: series.startTimeMs,
    };
    const key = JSON.stringify(identity);
    let result = cache.get(key);
    if (!result) {
      result = matcher.match(identity);
      cache.set(key, result);
    }
    return result;
  };
}

/** A series of no simulated process; returns its identity, counted once in the report. */
function unknownSeries(
  walk: Walk,
  metric: MetricPlan,
  series: ObservedSeries,
  split: string | undefined,
): string {
  const { plan } = walk;
  const pid = plan.pidLabel === undefined ? undefined : series.labels[plan.pidLabel];
  const name = plan.nameLabel === undefined ? undefined : series.labels[plan.nameLabel];
  walk.tallies.extra.fail({
    kind: 'unknown',
    metric: metric.name,
    pid: pid === undefined ? undefined : Number(pid),
    name,
    observed: labelsText(series.labels),
    message: `${splitText(metric, split)} of ${pid === undefined ? 'a process without PID' : `pid ${pid}`}${name ? ` ${name}` : ''}: no simulated process of this simulation, live or exited, matches it`,
  });
  return JSON.stringify([pid, name, series.startTimeMs]);
}

function notDropped(
  walk: Walk,
  process: { pid: number; name: string; priority: TruthProcess['priority'] },
  metric: MetricPlan,
  split: string | undefined,
): void {
  walk.tallies.extra.fail({
    kind: 'not-dropped',
    pid: process.pid,
    name: process.name,
    priority: process.priority,
    metric: metric.name,
    message: `${describe(process)}: ${splitText(metric, split)} is present although the expectations drop this process`,
  });
}

function noteAmbiguous(
  walk: Walk,
  ambiguous: Map<string, Ambiguous>,
  candidates: TruthProcess[],
  metric: MetricPlan,
  series: ObservedSeries,
  split: string | undefined,
): void {
  const { plan } = walk;
  const group = `${series.labels[plan.nameLabel ?? ''] ?? ''}\u0000${series.labels[plan.commandLineLabel ?? ''] ?? ''}`;
  const entry = ambiguous.get(group) ?? { candidates, identities: new Set(), series: 0, metrics: new Map() };
  entry.identities.add(JSON.stringify([series.labels[plan.pidLabel ?? ''], series.startTimeMs]));
  const key = `${metric.name}\u0000${split}`;
  entry.metrics.set(key, (entry.metrics.get(key) ?? 0) + 1);
  entry.series++;
  ambiguous.set(group, entry);
}

/**
 * Downstream processes matched only by a name and command line that several simulated processes
 * share: present as a group when the counts agree; their values cannot be told apart.
 */
function resolveAmbiguous(
  walk: Walk,
  ambiguous: ReadonlyMap<string, Ambiguous>,
  matchedBy: (method: MatchMethod, pid: number) => void,
): void {
  for (const entry of ambiguous.values()) {
    const candidates = entry.candidates.filter((process) => walk.plan.keeps(process));
    if (entry.identities.size === candidates.length) {
      for (const [key, count] of entry.metrics) {
        if (count !== candidates.length) continue;
        const [metricName, split] = key.split('\u0000') as [string, string];
        for (const process of candidates)
          walk.presentKeys.add(seriesKey(process.pid, metricName, split === 'undefined' ? undefined : split));
      }
      for (const process of candidates) matchedBy('name+command-line (group)', process.pid);
      walk.notes.push(
        `${candidates.length} processes named ${candidates[0]?.name} share a command line and no PID could be mapped: present as a group, values not compared`,
      );
    } else {
      for (let i = 0; i < entry.series; i++)
        walk.tallies.extra.fail({
          kind: 'unknown',
          name: candidates[0]?.name,
          message: `${entry.identities.size} downstream processes named ${candidates[0]?.name ?? '?'} with one command line, ${candidates.length} simulated ones: they cannot be told apart`,
        });
    }
  }
}

function results(
  walk: Walk,
  linger: ReturnType<typeof checkLinger>,
  seriesCounts: CheckTally,
): CheckResult[] {
  const { tallies, observation, skew } = walk;
  const checks: CheckResult[] = [
    tallies.presence.result(counts(tallies.presence, 'process × metric series')),
    tallies.shape.result(
      tallies.shape.failed
        ? `${tallies.shape.failed} differences in names, types, units or attribute keys`
        : `${walk.plan.metrics.length} metrics with the expected type and attribute keys`,
    ),
    tallies.values.result(
      `${counts(tallies.values, 'values and attributes')}${skew.unbracketed ? `, ${skew.unbracketed} not comparable (older than the simulator's readings)` : ''}`,
    ),
    linger.tally.result(
      `${counts(linger.tally, 'exits')}; linger max ${linger.stats.max_seconds ?? '-'} s, p50 ${linger.stats.p50_seconds ?? '-'} s (allowed ${linger.stats.allowed_seconds} s)`,
    ),
    seriesCounts.result(counts(seriesCounts, 'metric × priority counts')),
    tallies.extra.result(
      tallies.extra.failed
        ? `${tallies.extra.failed} series that should not be there`
        : 'no unknown, duplicate or undropped series',
    ),
  ];
  if (observation.source === 'otlp-sink') {
    const capacity = new CheckTally('sink-capacity');
    if (observation.overflow.series > 0 || observation.overflow.points > 0)
      capacity.fail({
        kind: 'overflow',
        observed: `${observation.overflow.series} series, ${observation.overflow.points} points not kept`,
        message: `the OTLP sink was full: ${observation.overflow.series} series (${observation.overflow.points} points) were not kept, so extra and missing series cannot be vouched for; raise OTLP_SINK_MAX_SERIES`,
      });
    else capacity.ok();
    checks.push(capacity.result(capacity.failed ? 'the sink overflowed' : 'nothing dropped'));
  }
  return checks;
}
