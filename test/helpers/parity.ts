/**
 * Comparing two recordings of the same processes (the simulator's and the hostmetrics receiver's,
 * read from the collectors' file exporters) series by series: grouping per PID, pairing each point with
 * the other side's nearest one, and the checks a counter allows when the two reads are not at the same
 * instant.
 */
import type { FlatPoint } from './otlp-json.ts';

/** A series: metric name and data-point attributes. */
export const seriesKey = (point: FlatPoint) =>
  `${point.metric}${Object.entries(point.attributes)
    .sort()
    .map(([key, value]) => ` ${key}=${value}`)
    .join('')}`;

/** Points of one PID, by series key, oldest first. */
export function byPid(points: FlatPoint[], pid: number): Map<string, FlatPoint[]> {
  const series = new Map<string, FlatPoint[]>();
  for (const point of points) {
    if (point.resource['process.pid'] !== pid) continue;
    const key = seriesKey(point);
    series.set(key, [...(series.get(key) ?? []), point]);
  }
  for (const list of series.values()) list.sort((a, b) => a.timeMs - b.timeMs);
  return series;
}

export function nearest(points: FlatPoint[], timeMs: number): FlatPoint | undefined {
  let best: FlatPoint | undefined;
  for (const point of points) {
    if (!best || Math.abs(point.timeMs - timeMs) < Math.abs(best.timeMs - timeMs)) best = point;
  }
  return best;
}

/**
 * The other side's readings that surely came before and after `timeMs`: at least `guardMs` earlier and
 * later. A point's time is not exactly when its files were read (the receiver stamps before it reads,
 * the simulator after), so readings closer than the guard may be on either side of the instant.
 */
export function bracket(
  points: FlatPoint[],
  timeMs: number,
  guardMs: number,
): { before: FlatPoint | undefined; after: FlatPoint | undefined } {
  let before: FlatPoint | undefined;
  let after: FlatPoint | undefined;
  for (const point of points) {
    if (point.timeMs <= timeMs - guardMs) before = point;
    else if (point.timeMs >= timeMs + guardMs && !after) after = point;
  }
  return { before, after };
}

/**
 * Consecutive points of a gauge and of the counter it is a rate of, paired by time: the utilization
 * recorded at a reading against the CPU time of that reading and of the one before.
 */
export function ratePairs(
  rates: FlatPoint[],
  counter: FlatPoint[],
): Array<{ rate: FlatPoint; from: FlatPoint; to: FlatPoint }> {
  const pairs: Array<{ rate: FlatPoint; from: FlatPoint; to: FlatPoint }> = [];
  const byTime = new Map(counter.map((point) => [point.timeMs, point]));
  const times = counter.map((point) => point.timeMs).sort((a, b) => a - b);
  for (const rate of rates) {
    const at = times.indexOf(rate.timeMs);
    const to = byTime.get(rate.timeMs);
    const from = at > 0 ? byTime.get(times[at - 1] as number) : undefined;
    if (to && from) pairs.push({ rate, from, to });
  }
  return pairs;
}

/** 100 x bytes / total in float32, each step rounded as Go rounds float32 arithmetic. */
export function float32Percent(bytes: number, total: number): number {
  return Math.fround(Math.fround(100 * Math.fround(bytes)) / Math.fround(total));
}
