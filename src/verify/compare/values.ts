/**
 * The values check for one process: each value seen downstream against the bracket of the simulator's
 * readings around the moment it was read (bracket.ts), and the identity attributes against what the
 * simulator knows of the process.
 */
import type { ObservedSeries } from '../observation.ts';
import type { MatchMethod } from '../report.ts';
import type { TruthProcess } from '../truth.ts';
import { boundsOf, bracketReadings, within } from './bracket.ts';
import type { MetricPlan } from './plan.ts';
import { describe, splitText, type Walk } from './walk.ts';

/** Each identity attribute of each process once (not once per metric), then remembered in `checked`. */
export function checkAttributeValues(
  walk: Walk,
  checked: Set<string>,
  process: TruthProcess,
  series: ObservedSeries,
  method: MatchMethod,
): void {
  for (const attribute of walk.plan.identity) {
    // PIDs are the simulator's only when they were matched as they are.
    if (attribute.pidSpace && method !== 'pid') continue;
    const observed = series.labels[attribute.label];
    if (observed === undefined) continue;
    const key = `${process.pid}\u0000${attribute.key}`;
    if (checked.has(key)) continue;
    checked.add(key);
    const want = attribute.valueOf(process);
    if (want === undefined) continue;
    if (observed === want) walk.tallies.values.ok();
    else
      walk.tallies.values.fail({
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

export function checkValue(
  walk: Walk,
  metric: MetricPlan,
  split: string | undefined,
  series: ObservedSeries,
  process: TruthProcess,
): void {
  const { truth, expectations, observation, skew, tallies } = walk;
  if (metric.metric.split && split === undefined) return;
  const pointTimeMs = observation.readTimeKnown ? series.pointTimeMs : undefined;
  const bracket = bracketReadings(process.readings, { pointTimeMs, ...walk.window });
  const bounds =
    bracket && boundsOf(truth, expectations, metric.metric, split, bracket.readings, process.start_time_ms);
  // Without a reading before the value's time only a process younger than the window can be judged
  // later (it may have been read before the simulator first read it); an older one cannot be compared.
  if (!bracket || !bounds || (!bracket.complete && !walk.young(process))) {
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
      ? `queried at ${new Date(observation.observedAtMs).toISOString()}`
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
