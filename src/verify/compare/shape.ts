/**
 * The shape check: each metric's type, temporality, unit and value type, and each series' attribute
 * keys against the keys the plan expects (missing and unexpected keys counted per metric and named
 * once, with an example process).
 */
import type { ObservedMetric, ObservedSeries } from '../observation.ts';
import type { CheckTally } from './checks.ts';
import type { MetricPlan, Plan } from './plan.ts';

interface KeyIssue {
  count: number;
  pid?: number;
  name?: string;
}

/** Missing and unexpected attribute keys, counted over the series of each metric. */
export class KeyIssues {
  readonly #missing = new Map<string, KeyIssue>();
  readonly #unexpected = new Map<string, KeyIssue>();
  readonly #plan: Plan;

  constructor(plan: Plan) {
    this.#plan = plan;
  }

  /** Notes the keys `series` lacks or has beyond the plan; `owner` is the example named. */
  check(
    metric: MetricPlan,
    series: ObservedSeries,
    owner: { pid?: number; name?: string | undefined },
  ): void {
    const note = (issues: Map<string, KeyIssue>, label: string) => {
      const key = `${metric.name}\u0000${label}`;
      const issue = issues.get(key) ?? { count: 0, pid: owner.pid, name: owner.name };
      issue.count++;
      issues.set(key, issue);
    };
    for (const label of metric.keys) if (!(label in series.labels)) note(this.#missing, label);
    for (const label of Object.keys(series.labels))
      if (!metric.keys.has(label) && !this.#plan.ignored(label)) note(this.#unexpected, label);
  }

  /** One difference per metric and key. */
  report(tally: CheckTally): void {
    const example = (issue: KeyIssue) =>
      issue.pid === undefined ? (issue.name ?? 'an unmatched series') : `pid ${issue.pid} ${issue.name}`;
    for (const [key, issue] of this.#missing) {
      const [metric, label] = key.split('\u0000') as [string, string];
      tally.fail({
        kind: 'attribute-missing',
        metric,
        attribute: label,
        pid: issue.pid,
        name: issue.name,
        expected: `attribute ${label}`,
        observed: 'absent',
        message: `attribute ${label} is missing on ${issue.count} ${metric} series (e.g. ${example(issue)}); declare it in attributes.removed if the pipeline removes it`,
      });
    }
    for (const [key, issue] of this.#unexpected) {
      const [metric, label] = key.split('\u0000') as [string, string];
      tally.fail({
        kind: 'attribute-unexpected',
        metric,
        attribute: label,
        pid: issue.pid,
        name: issue.name,
        expected: 'absent',
        observed: `attribute ${label}`,
        message: `unexpected attribute ${label} on ${issue.count} ${metric} series (e.g. ${example(issue)}); declare it in attributes.added or attributes.renamed if the pipeline adds it`,
      });
    }
  }
}

/** The metric's type as the source tells it, against the simulator's. */
export function checkType(tally: CheckTally, metric: MetricPlan, observed: ObservedMetric, plan: Plan): void {
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
