/**
 * The comparison: what a pipeline delivered (an Observation) against what the simulator produced (its
 * GroundTruth), under what the pipeline is meant to do (Expectations). Pure apart from the PID lookups
 * of the matcher; every difference names the PID, the process, the metric, what was expected and
 * what was seen.
 */
import { formatDuration } from '../../profiles/units.ts';
import { describeExpectations, type Expectations } from '../expectations.ts';
import type { HostView } from '../host.ts';
import type { Observation, ObservedMetric, ObservedSeries } from '../observation.ts';
import type { CheckResult, MatchMethod, Report, SeriesCount } from '../report.ts';
import type { GroundTruth, TruthExit, TruthProcess } from '../truth.ts';
import { type Bounds, boundsOf, bracketReadings, sumBounds, within } from './bracket.ts';
import { CheckTally, counts } from './checks.ts';
import { checkLinger } from './linger.ts';
import { createMatcher, type MatchResult } from './match.ts';
import { type MetricPlan, makePlan, type Plan } from './plan.ts';

export interface CompareInput {
  truth: GroundTruth;
  observation: Observation;
  expectations: Expectations;
  /** the verifier's own /proc, to map PIDs seen from another namespace; undefined: no lookups */
  host: HostView | undefined;
  startedAtMs: number;
  attempts: number;
}

type Tallies = Record<'presence' | 'shape' | 'values' | 'extra', CheckTally>;

/** A missing or unexpected attribute key, counted over the series of one metric. */
interface KeyIssue {
  count: number;
  pid?: number;
  name?: string;
}

const describe = (process: { pid: number; name: string; priority: string }) =>
  `pid ${process.pid} ${process.name} (${process.priority})`;

const splitText = (plan: MetricPlan, split: string | undefined) =>
  split === undefined || !plan.metric.split ? plan.name : `${plan.name}{${plan.metric.split.key}="${split}"}`;

export function compare(input: CompareInput): Report {
  const { truth, observation, expectations } = input;
  const plan = makePlan(truth, expectations, observation.naming);
  const matcher = createMatcher(truth, input.host);
  const now = observation.observedAtMs;
  // The value was read at the latest when it was observed; the truth's fresh readings come after that.
  const window = { fromMs: now - expectations.maxDelayMs, toMs: now };
  const tallies: Tallies = {
    presence: new CheckTally('presence'),
    shape: new CheckTally('shape'),
    values: new CheckTally('values'),
    extra: new CheckTally('extra-series'),
  };
  const expected = truth.processes.filter((process) => plan.keeps(process));
  const young = (process: TruthProcess) => (process.start_time_ms ?? process.started_at_ms) > window.fromMs;
  const notes = [...observation.notes];
  const skew = { widestMs: 0, widestCpuS: 0, unbracketed: 0 };

  // Aggregating pipelines: the expected series are sums over groups of processes.
  const groups = new Map<string, TruthProcess[]>();
  if (plan.groupBy) {
    for (const process of expected) {
      const key = groupKeyOf(plan, process);
      groups.set(key, [...(groups.get(key) ?? []), process]);
    }
  }

  const matchCache = new Map<string, MatchResult>();
  const match = (series: ObservedSeries): MatchResult => {
    const pidText = plan.pidLabel === undefined ? undefined : series.labels[plan.pidLabel];
    const pid = pidText === undefined || !/^\d+$/.test(pidText) ? undefined : Number(pidText);
    const identity = {
      pid,
      name: plan.nameLabel === undefined ? undefined : series.labels[plan.nameLabel],
      commandLine: plan.commandLineLabel === undefined ? undefined : series.labels[plan.commandLineLabel],
      startTimeMs: series.startTimeMs,
    };
    const key = JSON.stringify(identity);
    let result = matchCache.get(key);
    if (!result) {
      result = matcher.match(identity);
      matchCache.set(key, result);
    }
    return result;
  };

  // ---- shape of each metric and of each series' attribute keys
  const missingKeys = new Map<string, KeyIssue>();
  const unexpectedKeys = new Map<string, KeyIssue>();
  const checkKeys = (metric: MetricPlan, series: ObservedSeries, owner: { pid?: number; name?: string }) => {
    const note = (issues: Map<string, KeyIssue>, label: string) => {
      const key = `${metric.name}\u0000${label}`;
      const issue = issues.get(key) ?? { count: 0, ...owner };
      issue.count++;
      issues.set(key, issue);
    };
    for (const label of metric.keys) if (!(label in series.labels)) note(missingKeys, label);
    for (const label of Object.keys(series.labels))
      if (!metric.keys.has(label) && !plan.ignored(label)) note(unexpectedKeys, label);
  };

  const presentKeys = new Set<string>();
  const presentNow = new Set<TruthExit>();
  const methods = new Map<MatchMethod, Set<number>>();
  const matchedBy = (method: MatchMethod, pid: number) => {
    const pids = methods.get(method) ?? new Set<number>();
    pids.add(pid);
    methods.set(method, pids);
  };
  const unmatched = new Set<string>();
  const checkedAttributes = new Set<string>();
  const ambiguous = new Map<
    string,
    { candidates: TruthProcess[]; identities: Set<string>; series: number; metrics: Map<string, number> }
  >();
  const observedOf = (metric: MetricPlan): ObservedMetric | undefined => observation.metrics.get(metric.name);

  for (const metric of plan.metrics) {
    const observed = observedOf(metric);
    if (!observed || observed.series.length === 0) {
      // Absent is right when nothing is expected, and not yet wrong while every expected process is young.
      if (!expected.some((process) => !young(process))) continue;
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
        walkGroupSeries(metric, series, split);
        continue;
      }
      const result = match(series);
      const target = result.target;
      checkKeys(
        metric,
        series,
        target?.kind === 'live'
          ? target.process
          : target?.kind === 'exited'
            ? target.exit
            : { name: plan.nameLabel ? series.labels[plan.nameLabel] : undefined },
      );
      if (target === undefined) {
        if (result.reason === 'ambiguous') {
          const group = `${series.labels[plan.nameLabel ?? ''] ?? ''}\u0000${series.labels[plan.commandLineLabel ?? ''] ?? ''}`;
          const entry = ambiguous.get(group) ?? {
            candidates: result.candidates,
            identities: new Set(),
            series: 0,
            metrics: new Map(),
          };
          entry.identities.add(JSON.stringify([series.labels[plan.pidLabel ?? ''], series.startTimeMs]));
          const seriesKey = `${metric.name}\u0000${split}`;
          entry.metrics.set(seriesKey, (entry.metrics.get(seriesKey) ?? 0) + 1);
          entry.series++;
          ambiguous.set(group, entry);
          continue;
        }
        const pid = plan.pidLabel === undefined ? undefined : series.labels[plan.pidLabel];
        const name = plan.nameLabel === undefined ? undefined : series.labels[plan.nameLabel];
        unmatched.add(JSON.stringify([pid, name, series.startTimeMs]));
        tallies.extra.fail({
          kind: 'unknown',
          metric: metric.name,
          pid: pid === undefined ? undefined : Number(pid),
          name,
          observed: labelsText(series.labels),
          message: `${splitText(metric, split)} of ${pid === undefined ? 'a process without PID' : `pid ${pid}`}${name ? ` ${name}` : ''}: no simulated process of this simulation, live or exited, matches it`,
        });
        continue;
      }
      if (target.kind === 'exited') {
        if (!plan.keeps(target.exit)) {
          tallies.extra.fail({
            kind: 'not-dropped',
            pid: target.exit.pid,
            name: target.exit.name,
            priority: target.exit.priority,
            metric: metric.name,
            message: `${describe(target.exit)}: ${splitText(metric, split)} is present although the expectations drop this process`,
          });
        } else presentNow.add(target.exit);
        continue;
      }
      const process = target.process;
      matchedBy(result.method as MatchMethod, process.pid);
      if (!plan.keeps(process)) {
        tallies.extra.fail({
          kind: 'not-dropped',
          pid: process.pid,
          name: process.name,
          priority: process.priority,
          metric: metric.name,
          message: `${describe(process)}: ${splitText(metric, split)} is present although the expectations drop this process`,
        });
        continue;
      }
      const key = `${process.pid}\u0000${metric.name}\u0000${split}`;
      if (presentKeys.has(key)) {
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
      presentKeys.add(key);
      tallies.extra.ok();
      checkAttributeValues(process, series, result.method as MatchMethod);
      checkValue(metric, split, series, process);
    }
  }

  // Downstream processes matched only by a name and command line that several simulated processes
  // share: present as a group when the counts agree; their values cannot be told apart.
  for (const entry of ambiguous.values()) {
    const candidates = entry.candidates.filter((process) => plan.keeps(process));
    if (entry.identities.size === candidates.length) {
      for (const [seriesKey, count] of entry.metrics) {
        if (count !== candidates.length) continue;
        const [metricName, split] = seriesKey.split('\u0000');
        for (const process of candidates) presentKeys.add(`${process.pid}\u0000${metricName}\u0000${split}`);
      }
      for (const process of candidates) matchedBy('name+command-line (group)', process.pid);
      notes.push(
        `${candidates.length} processes named ${candidates[0]?.name} share a command line and no PID could be mapped: present as a group, values not compared`,
      );
    } else {
      for (let i = 0; i < entry.series; i++)
        tallies.extra.fail({
          kind: 'unknown',
          name: candidates[0]?.name,
          message: `${entry.identities.size} downstream processes named ${candidates[0]?.name ?? '?'} with one command line, ${candidates.length} simulated ones: they cannot be told apart`,
        });
    }
  }

  // ---- aggregated pipelines: series are sums over groups of processes
  function walkGroupSeries(metric: MetricPlan, series: ObservedSeries, split: string | undefined): void {
    const by = plan.groupBy ?? [];
    const key = by.map((attribute) => series.labels[attribute.label] ?? '').join('\u0000');
    const members = groups.get(key);
    const text = by
      .map((attribute) => `${attribute.label}=${JSON.stringify(series.labels[attribute.label] ?? null)}`)
      .join(', ');
    checkKeys(metric, series, {});
    if (!members) {
      const exited = truth.exits.filter(
        (exit) => plan.keeps(exit) && groupKeyOf(plan, exitAsProcess(exit, truth)) === key,
      );
      if (exited.length > 0) {
        const last = exited.reduce((a, b) => (a.exited_at_ms > b.exited_at_ms ? a : b));
        presentNow.add(last);
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
    const seriesKey = `group:${key}\u0000${metric.name}\u0000${split}`;
    if (presentKeys.has(seriesKey)) {
      tallies.extra.fail({
        kind: 'duplicate',
        metric: metric.name,
        observed: labelsText(series.labels),
        message: `a second ${splitText(metric, split)} series for ${text}`,
      });
      return;
    }
    presentKeys.add(seriesKey);
    tallies.extra.ok();
    // The members' exits inside the window may or may not be in the sum: their readings are gone.
    const exitedMembers = truth.exits.filter(
      (exit) =>
        exit.exited_at_ms >= window.fromMs &&
        plan.keeps(exit) &&
        groupKeyOf(plan, exitAsProcess(exit, truth)) === key,
    );
    if (exitedMembers.length > 0) {
      skew.unbracketed++;
      return;
    }
    const parts: Bounds[] = [];
    let complete = true;
    for (const process of members) {
      const bracket = bracketReadings(process.readings, { pointTimeMs: undefined, ...window });
      const bounds =
        bracket &&
        boundsOf(truth, expectations, metric.metric, split, bracket.readings, process.start_time_ms);
      if (!bracket || !bounds || (!bracket.complete && !young(process))) {
        skew.unbracketed++;
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

  function checkAttributeValues(process: TruthProcess, series: ObservedSeries, method: MatchMethod): void {
    for (const attribute of plan.identity) {
      // PIDs are the simulator's only when they were matched as they are.
      if (attribute.pidSpace && method !== 'pid') continue;
      const observed = series.labels[attribute.label];
      if (observed === undefined) continue;
      const key = `${process.pid}\u0000${attribute.key}`;
      if (checkedAttributes.has(key)) continue;
      checkedAttributes.add(key);
      const want = attribute.valueOf(process);
      if (want === undefined) continue;
      if (observed === want) tallies.values.ok();
      else
        tallies.values.fail({
          kind: 'attribute-value',
          pid: process.pid,
          name: process.name,
          priority: process.priority,
          attribute: attribute.key,
          expected: want,
          observed,
          message: `${describe(process)}: attribute ${attribute.label} is ${JSON.stringify(observed)}, expected ${JSON.stringify(want)}`,
        });
    }
  }

  function checkValue(
    metric: MetricPlan,
    split: string | undefined,
    series: ObservedSeries,
    process: TruthProcess,
  ): void {
    if (metric.metric.split && split === undefined) return;
    const pointTimeMs = observation.readTimeKnown ? series.pointTimeMs : undefined;
    const bracket = bracketReadings(process.readings, { pointTimeMs, ...window });
    const bounds =
      bracket && boundsOf(truth, expectations, metric.metric, split, bracket.readings, process.start_time_ms);
    // Without a reading before the value's time only a process younger than the window can be judged
    // later (it may have been read before the simulator first read it); an older one cannot be compared.
    if (!bracket || !bounds || (!bracket.complete && !young(process))) {
      skew.unbracketed++;
      return;
    }
    const first = bracket.readings[0] as readonly number[];
    const last = bracket.readings[bracket.readings.length - 1] as readonly number[];
    skew.widestMs = Math.max(skew.widestMs, (last[0] as number) - (first[0] as number));
    if (metric.metric.name === 'process.cpu.time')
      skew.widestCpuS = Math.max(
        skew.widestCpuS,
        bounds.high - bounds.low - (2 * expectations.tolerances.cpuTicks) / truth.clock_ticks,
      );
    if (within(series.value, bounds)) {
      tallies.values.ok();
      return;
    }
    if (!bracket.complete) {
      tallies.values.wait();
      return;
    }
    const at =
      pointTimeMs === undefined
        ? `queried at ${new Date(now).toISOString()}`
        : `read at ${new Date(pointTimeMs).toISOString()}`;
    tallies.values.fail({
      kind: 'value',
      pid: process.pid,
      name: process.name,
      priority: process.priority,
      metric: metric.name,
      expected: bounds.describe,
      observed: String(series.value),
      message: `${describe(process)}: ${splitText(metric, split)} is ${series.value} (${at}), expected ${bounds.describe} from the simulator's readings`,
    });
  }

  // ---- presence of every expected process (or group) for every expected metric
  const rows = new Map<string, SeriesCount & { pending: number }>();
  const row = (metric: MetricPlan, priority: SeriesCount['priority']) => {
    const key = `${metric.name}\u0000${priority}`;
    const entry = rows.get(key) ?? { metric: metric.name, priority, expected: 0, observed: 0, pending: 0 };
    rows.set(key, entry);
    return entry;
  };
  for (const metric of plan.metrics) {
    const splits =
      metric.metric.split && metric.splitLabel !== undefined ? metric.metric.split.values : [undefined];
    if (plan.groupBy) {
      for (const [key, members] of groups) {
        const priorities = new Set(members.map((member) => member.priority));
        const priority = priorities.size === 1 ? (members[0] as TruthProcess).priority : 'mixed';
        for (const split of splits) {
          const counted = row(metric, priority);
          counted.expected++;
          if (presentKeys.has(`group:${key}\u0000${metric.name}\u0000${split}`)) {
            counted.observed++;
            tallies.presence.ok();
          } else if (members.every(young)) {
            counted.pending++;
            tallies.presence.wait();
          } else {
            const text = (plan.groupBy ?? [])
              .map((attribute, i) => `${attribute.label}=${JSON.stringify(key.split('\u0000')[i])}`)
              .join(', ');
            tallies.presence.fail({
              kind: 'missing',
              metric: metric.name,
              priority: priority === 'mixed' ? undefined : priority,
              message: `no ${splitText(metric, split)} series for ${text} (${members.length} live processes)`,
            });
          }
        }
      }
      continue;
    }
    for (const process of expected) {
      for (const split of splits) {
        const counted = row(metric, process.priority);
        counted.expected++;
        if (presentKeys.has(`${process.pid}\u0000${metric.name}\u0000${split}`)) {
          counted.observed++;
          tallies.presence.ok();
        } else if (young(process)) {
          counted.pending++;
          tallies.presence.wait();
        } else {
          tallies.presence.fail({
            kind: 'missing',
            pid: process.pid,
            name: process.name,
            priority: process.priority,
            metric: metric.name,
            expected: 'present',
            observed: 'absent',
            message: `${describe(process)}: no ${splitText(metric, split)} series downstream`,
          });
        }
      }
    }
  }
  const presentPairs = tallies.presence.checked - tallies.presence.failed - tallies.presence.pending;
  if (tallies.presence.checked > 0 && presentPairs === 0 && tallies.presence.failed === 0) {
    tallies.presence.fail({
      kind: 'nothing-delivered',
      message: `none of the ${tallies.presence.checked} expected series is downstream yet: every expected process is younger than max_delay (${formatDuration(expectations.maxDelayMs)}); wait longer (--wait)`,
    });
  }

  // Metrics the pipeline should drop must be absent.
  for (const metric of plan.dropped) {
    const observed = observedOf(metric);
    if (observed && observed.series.length > 0)
      tallies.extra.fail({
        kind: 'not-dropped',
        metric: metric.name,
        observed: `${observed.series.length} series`,
        message: `${metric.name} has ${observed.series.length} series although the expectations drop it`,
      });
  }

  for (const [key, issue] of missingKeys) {
    const [metric, label] = key.split('\u0000') as [string, string];
    tallies.shape.fail({
      kind: 'attribute-missing',
      metric,
      attribute: label,
      pid: issue.pid,
      name: issue.name,
      expected: `attribute ${label}`,
      observed: 'absent',
      message: `attribute ${label} is missing on ${issue.count} ${metric} series (e.g. ${issue.pid === undefined ? (issue.name ?? 'an unmatched series') : `pid ${issue.pid} ${issue.name}`}); declare it in attributes.removed if the pipeline removes it`,
    });
  }
  for (const [key, issue] of unexpectedKeys) {
    const [metric, label] = key.split('\u0000') as [string, string];
    tallies.shape.fail({
      kind: 'attribute-unexpected',
      metric,
      attribute: label,
      pid: issue.pid,
      name: issue.name,
      expected: 'absent',
      observed: `attribute ${label}`,
      message: `unexpected attribute ${label} on ${issue.count} ${metric} series (e.g. ${issue.pid === undefined ? (issue.name ?? 'an unmatched series') : `pid ${issue.pid} ${issue.name}`}); declare it in attributes.added or attributes.renamed if the pipeline adds it`,
    });
  }

  // ---- exited processes
  let linger: ReturnType<typeof checkLinger>;
  if (plan.groupBy) {
    linger = checkGroupLinger(observation, expectations, presentNow);
    notes.push(
      'the pipeline aggregates processes: the linger of single exits cannot be measured, only that groups without a live process are gone in time',
    );
  } else {
    linger = checkLinger({ truth, observation, expectations, plan, matcher, presentNow });
  }

  // ---- series per metric and priority
  const seriesCounts = new CheckTally('series-counts');
  const series: SeriesCount[] = [];
  for (const entry of rows.values()) {
    const { pending, ...count } = entry;
    series.push(count);
    if (count.observed === count.expected) seriesCounts.ok();
    else if (count.observed < count.expected && count.expected - count.observed <= pending)
      seriesCounts.wait();
    else
      seriesCounts.fail({
        kind: 'count',
        metric: count.metric,
        priority: count.priority === 'mixed' ? undefined : count.priority,
        expected: String(count.expected),
        observed: String(count.observed),
        message: `${count.metric} ${count.priority}: ${count.observed} series downstream, ${count.expected} expected`,
      });
  }

  const checks: CheckResult[] = [
    tallies.presence.result(counts(tallies.presence, 'process × metric series')),
    tallies.shape.result(
      tallies.shape.failed
        ? `${tallies.shape.failed} differences in names, types, units or attribute keys`
        : `${plan.metrics.length} metrics with the expected type and attribute keys`,
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
  if (skew.unbracketed > 0)
    notes.push(
      `${skew.unbracketed} values were not compared: the simulator's readings start at ${new Date(truth.readings_from_ms).toISOString()}, after the time they were read`,
    );
  notes.push(matchingNote(matcher.view));

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
      observed_at: new Date(now).toISOString(),
    },
    expectations: { origin: expectations.origin, summary: describeExpectations(expectations) },
    started_at: new Date(input.startedAtMs).toISOString(),
    finished_at: new Date().toISOString(),
    attempts: input.attempts,
    skew: skewText(observation, expectations, truth, skew),
    matching: { methods: methodCounts, unmatched: unmatched.size, note: matchingNote(matcher.view) },
    linger: linger.stats,
    series,
    checks,
    notes,
  };
}

function checkType(tally: CheckTally, metric: MetricPlan, observed: ObservedMetric, plan: Plan): void {
  const type = observed.type;
  if (!type) return;
  const want = metric.metric;
  const fail = (kind: string, expected: string, seen: string) =>
    tally.fail({
      kind,
      metric: metric.name,
      expected,
      observed: seen,
      message: `${metric.name}: ${kind} is ${seen}, expected ${expected}`,
    });
  if (plan.naming === 'prometheus') {
    const expected = want.shape === 'counter' ? 'counter' : 'gauge';
    if (type.kind !== 'unknown' && type.kind !== expected) fail('type', expected, type.kind);
    else tally.ok();
    return;
  }
  const kind = want.shape === 'gauge' ? 'gauge' : 'sum';
  if (type.kind !== kind) fail('type', kind, type.kind);
  else if (kind === 'sum' && type.monotonic !== (want.shape === 'counter'))
    fail('monotonic', String(want.shape === 'counter'), String(type.monotonic));
  else if (kind === 'sum' && type.temporality !== 'cumulative')
    fail('temporality', 'cumulative', String(type.temporality));
  else if (type.unit !== undefined && type.unit !== want.unit)
    fail('unit', want.unit, type.unit === '' ? '(none)' : type.unit);
  else if (type.valueType !== undefined && type.valueType !== want.value_type)
    fail('value type', want.value_type, type.valueType);
  else tally.ok();
}

function groupKeyOf(plan: Plan, process: TruthProcess): string {
  return (plan.groupBy ?? []).map((attribute) => attribute.valueOf(process) ?? '').join('\u0000');
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

/** Aggregated pipelines: a group whose processes all exited must be gone within the staleness. */
function checkGroupLinger(
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

function labelsText(labels: Readonly<Record<string, string>>): string {
  const text = Object.entries(labels)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(', ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function matchingNote(view: 'same-namespace' | 'same-host' | 'elsewhere'): string {
  switch (view) {
    case 'same-namespace':
      return 'the verifier shares the simulator’s PID namespace: PIDs are matched as they are (confirmed by the executable name and, when the data carries it, the start time)';
    case 'same-host':
      return 'the verifier runs in another PID namespace on the simulator’s host: PIDs are mapped through /proc/PID/status NSpid, confirmed by the process’s PID namespace or start time; others by name, command line and start time';
    default:
      return 'the verifier cannot see the simulator’s processes (another host, or its /proc is not readable): processes are matched by executable name, command line and, when the data carries it, start time';
  }
}

function skewText(
  observation: Observation,
  expectations: Expectations,
  truth: GroundTruth,
  skew: { widestMs: number; widestCpuS: number },
): string {
  const tolerance = `counters (CPU time ±${expectations.tolerances.cpuTicks} clock ticks of 1/${truth.clock_ticks} s, disk bytes exactly) must lie between the readings, memory within ${expectations.tolerances.memoryPercent} % of them, threads and fds between them exactly`;
  const widest = `widest bracket ${Math.round(skew.widestMs) / 1000} s, in which the busiest process burnt ${Math.round(skew.widestCpuS * 1000) / 1000} s of CPU`;
  if (observation.readTimeKnown) {
    return `Each point carries the time it was read; it was compared with the simulator's two readings around that time (the one before and the one after, one sampling interval of ${truth.interval_ms / 1000} s apart at most): ${tolerance}; ${widest}.`;
  }
  return `The source keeps no read time (Prometheus stores the scrape time), so each value was compared with the simulator's readings from max_delay (${formatDuration(expectations.maxDelayMs)}) before the query to a fresh reading taken right after it: ${tolerance}; ${widest}.`;
}
