/**
 * Presence and counts: every expected process (or group) must be there for every expected metric and
 * split value, unless it is younger than max_delay (then it is pending); the counts per metric and
 * priority are summed from the same walk and compared with the ground truth.
 */
import { formatDuration } from '../../profiles/units.ts';
import type { SeriesCount } from '../report.ts';
import type { TruthProcess } from '../truth.ts';
import { CheckTally } from './checks.ts';
import type { MetricPlan } from './plan.ts';
import { describe, seriesKey, splitText, type Walk } from './walk.ts';

/** Fills the presence tally; returns the counts per metric and priority, with what is pending. */
export function checkPresence(walk: Walk, groups: ReadonlyMap<string, TruthProcess[]>): SeriesCount[] {
  const { plan, tallies } = walk;
  const rows = new Map<string, SeriesCount>();
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
          if (walk.presentKeys.has(seriesKey(`group:${key}`, metric.name, split))) {
            counted.observed++;
            tallies.presence.ok();
          } else if (members.every(walk.young)) {
            counted.pending++;
            tallies.presence.wait();
          } else {
            const text = plan.groupBy
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
    for (const process of walk.expected) {
      for (const split of splits) {
        const counted = row(metric, process.priority);
        counted.expected++;
        if (walk.presentKeys.has(seriesKey(process.pid, metric.name, split))) {
          counted.observed++;
          tallies.presence.ok();
        } else if (walk.young(process)) {
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
  const present = tallies.presence.checked - tallies.presence.failed - tallies.presence.pending;
  if (tallies.presence.checked > 0 && present === 0 && tallies.presence.failed === 0) {
    tallies.presence.fail({
      kind: 'nothing-delivered',
      message: `none of the ${tallies.presence.checked} expected series is downstream yet: every expected process is younger than max_delay (${formatDuration(walk.expectations.maxDelayMs)}); wait longer (--wait)`,
    });
  }
  return [...rows.values()];
}

/** The counts per metric and priority: equal, or short by no more than what is pending. */
export function checkCounts(rows: readonly SeriesCount[]): { tally: CheckTally; series: SeriesCount[] } {
  const tally = new CheckTally('series-counts');
  const series: SeriesCount[] = [];
  for (const count of rows) {
    series.push(count);
    if (count.observed === count.expected) tally.ok();
    else if (count.observed < count.expected && count.expected - count.observed <= count.pending)
      tally.wait();
    else
      tally.fail({
        kind: 'count',
        metric: count.metric,
        priority: count.priority === 'mixed' ? undefined : count.priority,
        expected: String(count.expected),
        observed: String(count.observed),
        message: `${count.metric} ${count.priority}: ${count.observed} series downstream, ${count.expected} expected`,
      });
  }
  return { tally, series };
}
