/**
 * What the pipeline should deliver, worked out from the ground truth and the expectations: which
 * metrics under which downstream names, which attribute keys on each series (after renames and
 * removals, in the source's naming), which processes, and the value each identity attribute should
 * have.
 */
import { compileGlob, type GlobMatcher } from '../../engine/glob.ts';
import { PROCESS_ATTRIBUTE_KEYS, SIMULATION_ATTRIBUTE_KEYS } from '../../telemetry/process-metrics.ts';
import { CONTEXT_KEYS, type Expectations, keepsMetric, keepsProcess } from '../expectations.ts';
import type { Naming } from '../observation.ts';
import type { GroundTruth, TruthMetric, TruthProcess } from '../truth.ts';

export interface MetricPlan {
  metric: TruthMetric;
  /** the name downstream (OTLP or Prometheus) */
  name: string;
  /** downstream key of the split attribute (state, direction, type), undefined when not split or removed */
  splitLabel: string | undefined;
  /** downstream keys every series must carry (and no others, context keys aside) */
  keys: ReadonlySet<string>;
}

export interface IdentityAttribute {
  /** the key as the simulator writes it */
  key: string;
  /** the key downstream */
  label: string;
  /** its value for a process, as a string */
  valueOf(process: TruthProcess): string | undefined;
  /** PIDs differ between PID namespaces: compared only when PIDs were matched directly */
  pidSpace: boolean;
}

export interface Plan {
  naming: Naming;
  metrics: MetricPlan[];
  /** metrics the pipeline is expected to drop: must be absent downstream */
  dropped: MetricPlan[];
  /** downstream key of process.pid, process.executable.name, process.command_line (undefined when removed) */
  pidLabel: string | undefined;
  nameLabel: string | undefined;
  commandLineLabel: string | undefined;
  identity: IdentityAttribute[];
  /** downstream keys of the aggregation's `by` attributes; undefined when the pipeline does not aggregate */
  groupBy: IdentityAttribute[] | undefined;
  /** true for keys that are never compared (context keys, expectations' ignored) */
  ignored(label: string): boolean;
  keeps(process: { name: string; priority: TruthProcess['priority'] }): boolean;
}

/** An attribute key as the collector's prometheus exporter writes it as a label. */
export function prometheusLabel(key: string): string {
  const label = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(label) ? `key_${label}` : label;
}

export function makePlan(truth: GroundTruth, expectations: Expectations, naming: Naming): Plan {
  const { removed, renamed, added, ignored } = expectations.attributes;
  const removedMatchers = removed.map(compileGlob);
  const isRemoved = (key: string) => removedMatchers.some((matches) => matches(key));
  const translate = (key: string) => (naming === 'prometheus' ? prometheusLabel(key) : key);
  /** the downstream key of an upstream key, undefined when the pipeline removes it */
  const downstream = (key: string): string | undefined =>
    isRemoved(key) ? undefined : translate(renamed[key] ?? key);
  const ignoredMatchers: GlobMatcher[] = [...CONTEXT_KEYS, ...ignored].flatMap((pattern) => {
    const forms = [compileGlob(pattern)];
    if (naming === 'prometheus') forms.push(compileGlob(pattern.replace(/[^A-Za-z0-9_*?]/g, '_')));
    return forms;
  });
  const addedLabels = new Set(added.map(translate));
  const prefix = truth.simulation_attribute_prefix;

  const identity: IdentityAttribute[] = [];
  const attribute = (key: string, value: IdentityAttribute['valueOf'], pidSpace = false) => {
    const label = downstream(key);
    if (label !== undefined) identity.push({ key, label, valueOf: value, pidSpace });
  };
  const commandLine = (p: TruthProcess) => p.command_line?.join(' ');
  attribute('process.pid', (p) => String(p.pid), true);
  attribute('process.parent_pid', (p) => (p.ppid === null ? undefined : String(p.ppid)), true);
  attribute('process.executable.name', (p) => p.name);
  attribute('process.executable.path', (p) => p.executable_path ?? undefined);
  attribute('process.command', (p) => p.command_line?.[0] ?? (p.command_line ? '' : undefined));
  attribute('process.command_line', commandLine);
  attribute('process.owner', (p) => p.owner ?? undefined);
  if (prefix !== null) {
    const values: Record<(typeof SIMULATION_ATTRIBUTE_KEYS)[number], (p: TruthProcess) => string> = {
      priority: (p) => p.priority,
      profile: (p) => p.profile,
      simulation_id: () => truth.simulation.id,
      cpu_pattern: (p) => p.cpu_pattern,
      memory_pattern: (p) => p.memory_pattern,
    };
    for (const key of SIMULATION_ATTRIBUTE_KEYS) attribute(`${prefix}${key}`, values[key]);
  }
  // A shard's series carry its index (process-producer.ts), only in a sharded run.
  const shard = truth.simulation.shard;
  if (prefix !== null && shard) attribute(`${prefix}shard`, () => String(shard.index));
  const upstreamKeys = [
    // A truth from before the cgroup attributes names none: the attributes every simulator writes.
    ...(truth.process_attribute_keys ?? PROCESS_ATTRIBUTE_KEYS.filter((key) => !key.includes('cgroup'))),
    ...(prefix === null ? [] : SIMULATION_ATTRIBUTE_KEYS.map((key) => `${prefix}${key}`)),
    ...(prefix !== null && shard ? [`${prefix}shard`] : []),
  ];

  let groupBy: IdentityAttribute[] | undefined;
  if (expectations.aggregate) {
    groupBy = expectations.aggregate.by.map((key) => {
      const known = identity.find((entry) => entry.key === key);
      // A key the simulator never writes groups nothing: every process then shares one group.
      return (
        known ?? { key, label: translate(renamed[key] ?? key), valueOf: () => undefined, pidSpace: false }
      );
    });
  }

  const plan = (metric: TruthMetric): MetricPlan => {
    const name = naming === 'prometheus' ? metric.prometheus_name : metric.name;
    const splitLabel = metric.split ? downstream(metric.split.key) : undefined;
    const keys = new Set<string>(addedLabels);
    if (splitLabel) keys.add(splitLabel);
    const sources = groupBy ? groupBy.map((entry) => entry.key) : upstreamKeys;
    for (const key of sources) {
      const label = downstream(key);
      if (label !== undefined) keys.add(label);
    }
    return { metric, name, splitLabel, keys };
  };

  return {
    naming,
    metrics: truth.metrics.filter((metric) => keepsMetric(expectations, metric.name)).map(plan),
    dropped: truth.metrics.filter((metric) => !keepsMetric(expectations, metric.name)).map(plan),
    pidLabel: downstream('process.pid'),
    nameLabel: downstream('process.executable.name'),
    commandLineLabel: downstream('process.command_line'),
    identity,
    groupBy,
    ignored: (label) => !addedLabels.has(label) && ignoredMatchers.some((matches) => matches(label)),
    keeps: (process) => keepsProcess(expectations, process.name, process.priority),
  };
}

/**
 * The downstream names a source must read: every metric the simulator exports (kept or dropped, so
 * that a metric that should be gone can be seen), and the one whose last sample per process tells when
 * an exited process left (one series per process: no split).
 */
export function downstreamNames(
  truth: GroundTruth,
  expectations: Expectations,
  naming: Naming,
): { metrics: string[]; lingerMetric: string | undefined } {
  const name = (metric: TruthMetric) => (naming === 'prometheus' ? metric.prometheus_name : metric.name);
  const kept = truth.metrics.filter((metric) => keepsMetric(expectations, metric.name));
  const linger = kept.find((metric) => metric.split === null) ?? kept[0];
  return { metrics: truth.metrics.map(name), lingerMetric: linger ? name(linger) : undefined };
}
