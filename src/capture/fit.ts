/**
 * Estimators: from one process's recorded series to the profile pattern that describes it, with how
 * well it does. Pure, so every rule and tolerance below is tested on generated series.
 *
 * CPU (percent of one core, averaged over each interval):
 * - steady when the standard deviation is within the tolerance (cpuSteadyTolerance): variation the
 *   reading itself can make is no shape;
 * - spiky when the values fall into two levels whose gap is at least SPIKE_MIN_GAP points and at least
 *   SPIKE_GAP_TO_NOISE times the spread within the levels, the high level rises at least
 *   SPIKE_MIN_RISES times, and both the time between rises and the time high are regular (coefficients
 *   of variation at most SPIKE_MAX_PERIOD_CV);
 *   `every` is the median time between rises and `for` the median time high, both measured to a
 *   fraction of an interval from how far each edge sample sits between the levels; at least
 *   SPIKE_MIN_READINGS readings; and they come at most every SPIKE_MIN_PERIOD_MS (two of the
 *   engine's one-second targets), or the engine could not hold them;
 * - steady when its means over blocks of a second are within the tolerance (cpuSteadyTolerance at the
 *   block's length): variation faster than the engine's targets is no shape it can hold;
 * - random otherwise.
 * Memory (resident MiB, read at each sample):
 * - growing when a least-squares line rises by at least GROWTH_MIN_RISE_MIB over the recording and
 *   explains at least GROWTH_MIN_R2 of the variance; it starts where the line starts and stops where it
 *   ends (the replay never grows beyond what was seen);
 * - steady when the standard deviation is within max(MEMORY_STEADY_MIB, MEMORY_STEADY_SHARE x mean);
 * - random otherwise.
 * A random pattern spans the widest interval centred on the observed mean that stays within the
 * observed range, so the replay keeps the mean (what the load and the admission checks depend on)
 * and never leaves what was seen. How well: `rmse` between the pattern and the samples in the
 * pattern's unit, and for spiky and growing `r2`, the share of the variance the pattern explains.
 */
import type { FitQuality } from '../profiles/provenance.ts';
import type { Pattern } from '../profiles/schema.ts';
import { fitLine, median, moments, splitTwoLevels } from './stats.ts';

/** Readings of one process. For CPU, value i is the average over (t[i] - dt[i], t[i]]. */
export interface Series {
  /** reading times, ms, increasing */
  t: readonly number[];
  /** length of the interval each value covers, ms (CPU); ignored for memory */
  dt: readonly number[];
  v: readonly number[];
}

export interface PatternFit {
  pattern: Pattern;
  quality: FitQuality;
  notes: string[];
}

/** Smallest gap between the spike level and the base, in CPU points. */
export const SPIKE_MIN_GAP = 5;
/** The gap must be this many times the standard deviation within the levels. */
export const SPIKE_GAP_TO_NOISE = 5;
/** Largest coefficient of variation of the times between rises for the spikes to be called periodic. */
export const SPIKE_MAX_PERIOD_CV = 0.25;
/** CPU is steady when its standard deviation is at most this many points... */
export const CPU_STEADY_POINTS = 3;
/** ...or this share of its mean, whichever is larger... */
export const CPU_STEADY_SHARE = 0.15;
/** ...or one clock tick per interval (the reading's own resolution), whichever is larger. */
export function cpuSteadyTolerance(mean: number, intervalMs: number, clockTicks: number): number {
  const tickPoints = (100 * 1000) / clockTicks / Math.max(1, intervalMs);
  return Math.max(CPU_STEADY_POINTS, CPU_STEADY_SHARE * mean, tickPoints);
}
/** Memory is steady when its standard deviation is at most this many MiB... */
export const MEMORY_STEADY_MIB = 0.5;
/** ...or this share of its mean, whichever is larger. */
export const MEMORY_STEADY_SHARE = 0.02;
/** Growth smaller than this over the recording is not called growing. */
export const GROWTH_MIN_RISE_MIB = 1;
/** Share of the variance the growth line must explain. */
export const GROWTH_MIN_R2 = 0.9;
/** Fewest readings a trend is fitted to. */
export const GROWTH_MIN_POINTS = 10;

/** Fewest rises seen for spikes to be called periodic: two intervals between them, so their regularity shows. */
export const SPIKE_MIN_RISES = 3;
/** Fewest CPU readings spikes are looked for in: two rises and a whole spike need about this many. */
export const SPIKE_MIN_READINGS = 20;

/** The fitted spikes of a CPU series. */
export interface SpikeFit {
  base: number;
  peak: number;
  everyMs: number;
  forMs: number;
  /** rises seen */
  rises: number;
  r2: number;
  rmse: number;
}

/**
 * Periodic spikes in a CPU series, or undefined when there are none (see the file comment for the
 * rules). Values are interval averages, so an edge inside an interval shows as a value between the
 * levels; the share of the gap it reaches is the share of the interval spent high.
 */
export function detectSpikes(series: Series): SpikeFit | undefined {
  const { t, dt, v } = series;
  const n = v.length;
  if (n < SPIKE_MIN_READINGS) return undefined;
  const split = splitTwoLevels(v);
  if (!split) return undefined;
  // The levels and the noise come from the readings whose neighbours share their level: a reading at
  // an edge holds some of both levels, and would pass for noise.
  const levels = refineLevels(v, sidesOf(v, (split.low + split.high) / 2));
  if (!levels) return undefined;
  const { low, high, noise } = levels;
  const gap = high - low;
  if (gap < SPIKE_MIN_GAP || gap < SPIKE_GAP_TO_NOISE * noise) return undefined;
  const { side: isHigh, outlier } = sidesOf(v, (low + high) / 2);
  // An outlier reading stands for its run's level: the process was held back (or given more) for one
  // reading, which says nothing about the pattern's edges.
  const highShare = (i: number) =>
    outlier[i] ? (isHigh[i] ? 1 : 0) : Math.min(1, Math.max(0, ((v[i] as number) - low) / gap));
  const rises: number[] = [];
  const durations: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!isHigh[i] || (i > 0 && isHigh[i - 1])) continue;
    let end = i;
    while (end + 1 < n && isHigh[end + 1]) end++;
    // A run that touches either end of the recording has an unknown edge there.
    if (i >= 1) {
      const before = highShare(i - 1) * (dt[i - 1] as number);
      rises.push((t[i] as number) - highShare(i) * (dt[i] as number) - before);
    }
    if (i >= 1 && end <= n - 2) {
      let time = 0;
      for (let k = i - 1; k <= end + 1; k++) time += highShare(k) * (dt[k] as number);
      durations.push(time);
    }
    i = end;
  }
  if (rises.length < SPIKE_MIN_RISES || durations.length === 0) return undefined;
  const gaps = rises.slice(1).map((rise, k) => rise - (rises[k] as number));
  const spacing = moments(gaps);
  if (spacing.mean <= 0 || spacing.std / spacing.mean > SPIKE_MAX_PERIOD_CV) return undefined;
  // Noise split in two makes runs of any length; real spikes last about as long each time.
  const lasting = moments(durations);
  if (durations.length >= 2 && lasting.std / lasting.mean > SPIKE_MAX_PERIOD_CV) return undefined;
  const everyMs = Math.round(median(gaps));
  const forMs = Math.round(median(durations));
  if (forMs <= 0 || forMs >= everyMs) return undefined;
  const variance = moments(v).std ** 2;
  return {
    base: low,
    peak: high,
    everyMs,
    forMs,
    rises: rises.length,
    r2: variance > 0 ? Math.max(0, 1 - noise ** 2 / variance) : 0,
    rmse: noise,
  };
}

/** Runs of one level at least this long, as a median, make a single reading of that level an outlier. */
export const SPIKE_OUTLIER_RUN = 3;

/**
 * Which side of `mid` each reading is on, with the isolated readings taken to their neighbours' side:
 * on a busy machine a spiking process is sometimes held back for one reading in the middle of a spike
 * (and a low one given a burst), which would otherwise split one spike into two and break the period.
 * A single reading between two readings of the other side is such an outlier only when the runs of
 * its own side are long: the median of their interior runs, counted as if the single readings of the
 * other side inside them were not there and leaving out the runs of one reading (the candidates), is
 * at least SPIKE_OUTLIER_RUN. A pattern whose runs are one reading long is kept as it is, and so is
 * noise, whose runs are short.
 */
function sidesOf(v: readonly number[], mid: number): { side: boolean[]; outlier: boolean[] } {
  const n = v.length;
  const side = v.map((value) => value >= mid);
  const runs: Array<{ start: number; length: number; high: boolean }> = [];
  for (let i = 0; i < n; i++) {
    const start = i;
    while (i + 1 < n && side[i + 1] === side[start]) i++;
    runs.push({ start, length: i - start + 1, high: side[start] as boolean });
  }
  const isSingle = (k: number) =>
    k > 0 && k < runs.length - 1 && (runs[k] as (typeof runs)[number]).length === 1;
  const typical = (high: boolean) => {
    const lengths: number[] = [];
    for (let k = 0; k < runs.length; k++) {
      if ((runs[k] as (typeof runs)[number]).high !== high) continue;
      const first = k;
      let length = (runs[k] as (typeof runs)[number]).length;
      // across single readings of the other side, to the run of this side after each
      while (k + 2 < runs.length && isSingle(k + 1)) {
        k += 2;
        length += 1 + (runs[k] as (typeof runs)[number]).length;
      }
      if (first > 0 && k < runs.length - 1 && length > 1) lengths.push(length);
    }
    return median(lengths);
  };
  const long = { true: typical(true) >= SPIKE_OUTLIER_RUN, false: typical(false) >= SPIKE_OUTLIER_RUN };
  const outlier = v.map(() => false);
  for (let k = 1; k < runs.length - 1; k++) {
    const run = runs[k] as (typeof runs)[number];
    if (!isSingle(k) || !long[`${run.high}`]) continue;
    outlier[run.start] = true;
    side[run.start] = !run.high;
  }
  return { side, outlier };
}

/**
 * The low and high level of readings on their `side`, from the readings whose two neighbours are on
 * their side (the most wholly inside a level; a run too short to have one gives its extreme reading),
 * and the spread of those readings around their level. Outliers (sidesOf) count for neither.
 */
function refineLevels(
  v: readonly number[],
  { side, outlier }: { side: readonly boolean[]; outlier: readonly boolean[] },
): { low: number; high: number; noise: number } | undefined {
  const n = v.length;
  const inside: Array<{ value: number; high: boolean }> = [];
  for (let i = 0; i < n; i++) {
    const start = i;
    while (i + 1 < n && side[i + 1] === side[start]) i++;
    const run = v.slice(start, i + 1).filter((_, k) => !outlier[start + k]);
    if (run.length === 0) continue;
    const high = side[start] as boolean;
    // Interior readings of the run; a run of one or two readings lends its extreme one instead, unless
    // it touches an end of the recording, which may have cut it.
    const cut = start === 0 || i === n - 1;
    const core = run.length >= 3 ? run.slice(1, -1) : cut ? [] : [high ? Math.max(...run) : Math.min(...run)];
    for (const value of core) inside.push({ value, high });
  }
  const lows = inside.filter((r) => !r.high).map((r) => r.value);
  const highs = inside.filter((r) => r.high).map((r) => r.value);
  if (lows.length === 0 || highs.length === 0) return undefined;
  const low = moments(lows).mean;
  const high = moments(highs).mean;
  const squares = inside.reduce((sum, r) => sum + (r.value - (r.high ? high : low)) ** 2, 0);
  return { low, high, noise: Math.sqrt(squares / inside.length) };
}

/** The CPU pattern of one series (percent of one core). */
export function fitCpu(series: Series, intervalMs: number, clockTicks: number): PatternFit {
  const stats = moments(series.v);
  if (stats.n === 0) {
    return { pattern: { pattern: 'steady', value: 0 }, quality: quality('steady', 0, 0), notes: [] };
  }
  // Steady first: variation within the reading's own noise is no shape, spikes or otherwise.
  if (stats.std <= cpuSteadyTolerance(stats.mean, intervalMs, clockTicks)) return steady(stats);
  const spikes = detectSpikes(series);
  if (spikes && spikes.everyMs >= SPIKE_MIN_PERIOD_MS) {
    const notes =
      spikes.forMs < 2 * intervalMs
        ? ['spikes last under two intervals: their peak is read averaged over an interval, so low']
        : [];
    return {
      pattern: {
        pattern: 'spiky',
        base: spikes.base,
        peak: spikes.peak,
        every: spikes.everyMs,
        for: spikes.forMs,
      },
      quality: { ...quality('spiky', stats.n, spikes.rmse), r2: spikes.r2 },
      notes,
    };
  }
  // Variation that a second's average takes away is no shape the engine can hold (it sets targets
  // once a second): a worker's slices of CPU falling now into one reading and now into the next (which
  // can even look like spikes, at the beat of the two), a busy machine's scheduling. Such a series is
  // steady at its mean; its rmse still says how it varied.
  const fast = spikes
    ? [
        `spikes every ${Math.round(spikes.everyMs)} ms, faster than the engine's targets (once a second) can follow`,
      ]
    : [];
  const held = heldMeans(series);
  if (held.values.length >= HELD_MIN_BLOCKS) {
    const heldStats = moments(held.values);
    if (heldStats.std <= cpuSteadyTolerance(heldStats.mean, held.spanMs, clockTicks)) {
      const fit = steady(stats);
      fit.notes.push(
        ...fast,
        `varies by ${round(stats.std)} points between readings but ${round(heldStats.std)} between seconds: steady at its mean`,
      );
      return fit;
    }
  }
  const fit = random(stats, intervalMs);
  fit.notes.unshift(...fast);
  return fit;
}

/** How long the engine holds a target: a CPU series is judged steady over blocks this long too. */
export const CPU_HOLD_MS = 1000;
/** Spikes are spikes when they come at most once in two such holds: a spike and a gap a hold each. */
export const SPIKE_MIN_PERIOD_MS = 2 * CPU_HOLD_MS;
/** Fewest such blocks a series is judged on. */
export const HELD_MIN_BLOCKS = 3;

/**
 * A CPU series averaged over consecutive blocks of readings that span at least CPU_HOLD_MS, weighted by
 * the time each reading covers; what is left at the end joins the last block, so it counts as well.
 * `spanMs`: the blocks' mean length.
 */
export function heldMeans(series: Series): { values: number[]; spanMs: number } {
  const values: number[] = [];
  let total = 0;
  let sum = 0;
  let span = 0;
  let lastSum = 0;
  let lastSpan = 0;
  for (let i = 0; i < series.v.length; i++) {
    const dt = series.dt[i] as number;
    sum += (series.v[i] as number) * dt;
    span += dt;
    if (span >= CPU_HOLD_MS) {
      values.push(sum / span);
      total += span;
      lastSum = sum;
      lastSpan = span;
      sum = 0;
      span = 0;
    }
  }
  if (span > 0 && values.length > 0) {
    values[values.length - 1] = (lastSum + sum) / (lastSpan + span);
    total += span;
  }
  return { values, spanMs: values.length ? total / values.length : 0 };
}

/** The memory pattern of one series (resident MiB). */
export function fitMemory(series: Series, intervalMs: number): PatternFit {
  const stats = moments(series.v);
  if (stats.n === 0) {
    return { pattern: { pattern: 'steady', value: 0 }, quality: quality('steady', 0, 0), notes: [] };
  }
  if (stats.n >= GROWTH_MIN_POINTS) {
    const line = fitLine(series.t, series.v);
    const first = series.t[0] as number;
    const last = series.t.at(-1) as number;
    // A line through noisy readings of a small process may start a little below 0.
    const start = Math.max(0, line.at(first));
    const end = line.at(last);
    if (line.slope > 0 && end - start >= GROWTH_MIN_RISE_MIB && line.r2 >= GROWTH_MIN_R2) {
      return {
        pattern: { pattern: 'growing', start, max: end, per_minute: line.slope * 60_000, reset: false },
        quality: { ...quality('growing', stats.n, line.rmse), r2: line.r2 },
        notes: [],
      };
    }
  }
  if (stats.std <= Math.max(MEMORY_STEADY_MIB, MEMORY_STEADY_SHARE * stats.mean)) return steady(stats);
  return random(stats, intervalMs);
}

/**
 * CPU of several processes pooled (they share no time line): steady when the spread is within the
 * tolerance, random otherwise.
 */
export function fitPooledCpu(values: readonly number[], intervalMs: number, clockTicks: number): PatternFit {
  const stats = moments(values);
  return stats.std <= cpuSteadyTolerance(stats.mean, intervalMs, clockTicks)
    ? steady(stats)
    : random(stats, intervalMs);
}

/** Memory of several processes pooled: steady or random, as for CPU. */
export function fitPooledMemory(values: readonly number[], intervalMs: number): PatternFit {
  const stats = moments(values);
  return stats.std <= Math.max(MEMORY_STEADY_MIB, MEMORY_STEADY_SHARE * stats.mean)
    ? steady(stats)
    : random(stats, intervalMs);
}

function steady(stats: ReturnType<typeof moments>): PatternFit {
  return {
    pattern: { pattern: 'steady', value: stats.mean },
    quality: quality('steady', stats.n, stats.std),
    notes: [],
  };
}

/** Random over the widest interval centred on the mean that stays within the observed range. */
function random(stats: ReturnType<typeof moments>, intervalMs: number): PatternFit {
  const halfWidth = Math.min(stats.mean - stats.min, stats.max - stats.mean);
  const notes =
    stats.max - stats.min > 2 * halfWidth + 1e-9
      ? [
          `observed ${round(stats.min)}-${round(stats.max)}; drawn from ${round(stats.mean - halfWidth)}-${round(stats.mean + halfWidth)} to keep the mean ${round(stats.mean)}`,
        ]
      : [];
  return {
    pattern: {
      pattern: 'random',
      min: stats.mean - halfWidth,
      max: stats.mean + halfWidth,
      every: intervalMs,
    },
    // A uniform draw's distance from the samples is not a fit; the spread around the mean says how
    // much the replay varies.
    quality: quality('random', stats.n, stats.std),
    notes,
  };
}

function quality(pattern: FitQuality['pattern'], samples: number, rmse: number): FitQuality {
  return { pattern, samples, rmse };
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}
