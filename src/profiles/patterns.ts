/**
 * Pattern math: the target value of a pattern at a time since the process started. Pure and
 * deterministic (the seed fixes spike phases and random steps), so the engine, the `plan` command and
 * the tests agree on what a process should be doing at any moment.
 */
import { unitRandom } from './random.ts';
import type { Pattern } from './schema.ts';

/**
 * Target of `pattern` at `elapsedMs` after the process started.
 * @param seedKey identifies the process (seed + template + instance) so that phases differ per process
 */
export function valueAt(pattern: Pattern, elapsedMs: number, seedKey: string): number {
  switch (pattern.pattern) {
    case 'steady':
      return pattern.value;
    case 'spiky': {
      if (pattern.every <= 0) return pattern.base;
      return (elapsedMs + spikePhase(pattern, seedKey)) % pattern.every < pattern.for
        ? pattern.peak
        : pattern.base;
    }
    case 'growing': {
      const grown = (pattern.per_minute * elapsedMs) / 60_000;
      const span = pattern.max - pattern.start;
      if (span <= 0) return pattern.start;
      return pattern.reset ? pattern.start + (grown % span) : Math.min(pattern.max, pattern.start + grown);
    }
    case 'random': {
      const step = pattern.every > 0 ? Math.floor(elapsedMs / pattern.every) : 0;
      return pattern.min + unitRandom(seedKey, 'random-step', step) * (pattern.max - pattern.min);
    }
    case 'replay':
      return pattern.values[replayIndex(pattern, elapsedMs)] ?? 0;
  }
}

/** Index of the value a replay holds at `elapsedMs`: step by step, then over again or the last one. */
export function replayIndex(
  pattern: { every: number; values: readonly number[]; repeat: boolean },
  elapsedMs: number,
): number {
  const n = pattern.values.length;
  if (n === 0) return 0;
  const step = pattern.every > 0 && elapsedMs > 0 ? Math.floor(elapsedMs / pattern.every) : 0;
  return pattern.repeat ? step % n : Math.min(step, n - 1);
}

/**
 * The value a process holds from `elapsedMs` until its next retarget, `spanMs` later.
 * - A replay's values are means over their step (a capture writes the CPU of each reading), so when its
 *   steps are shorter than the span it holds their time-weighted mean over the span, and what it holds
 *   over a run adds up to what was recorded. Taking the value at each retarget instead aliases: a 1 s
 *   control tick over 250 ms readings takes every fourth one, at the same phase every time, and a steady
 *   worker recorded as 12, 20, 12, 20 % was replayed at 20 %.
 * - Spikes keep their two levels, and the time held at the peak follows the pattern's (see spikeHeld).
 * - Every other pattern is held at its value at `elapsedMs`: its steps are what it is for, and a random
 *   step's value is no more likely to be high than low, whatever the phase.
 */
export function heldValue(pattern: Pattern, elapsedMs: number, spanMs: number, seedKey: string): number {
  if (pattern.pattern === 'spiky' && spanMs > 0 && pattern.every > 0)
    return spikeHeld(pattern, Math.max(0, elapsedMs), spanMs, seedKey);
  if (pattern.pattern !== 'replay' || !(spanMs > 0) || pattern.values.length === 0 || !(pattern.every > 0))
    return valueAt(pattern, elapsedMs, seedKey);
  const from = Math.max(0, elapsedMs);
  if (!pattern.repeat) return (heldUntil(pattern, from + spanMs) - heldUntil(pattern, from)) / spanMs;
  // A loop: start within its first round, so that the sums stay small however long the process runs.
  const round = pattern.every * pattern.values.length;
  const start = from - Math.floor(from / round) * round;
  return (heldUntil(pattern, start + spanMs) - heldUntil(pattern, start)) / spanMs;
}

type Spiky = Extract<Pattern, { pattern: 'spiky' }>;

/**
 * A spiky pattern held between retargets `spanMs` apart: the peak for the whole span, or the base.
 * Its value at each retarget would alias: on a 1 s grid a 1.8 s spike every 4 s is held for 1 s or for
 * 2 s, depending on the process's phase, and the same every time (a replayed capture held one at half
 * its CPU). The mean over the span would be exact, but would put a third level between base and peak.
 * So the span is held at the peak when the pattern's own time at the peak, counted from the process's
 * start in whole spans (rounded), grows over it: the peak time held then follows the pattern's within
 * half a span at every retarget, and edges stay sharp (a spike of whole spans is held as it is).
 * Retargets come a few ms late; the pattern time that falls between two is counted by neither, which
 * moves the held time by the delay's share of a span (a few thousandths).
 */
function spikeHeld(pattern: Spiky, fromMs: number, spanMs: number, seedKey: string): number {
  const phase = spikePhase(pattern, seedKey);
  const before = Math.round(timeAtPeak(pattern, phase, fromMs) / spanMs);
  const after = Math.round(timeAtPeak(pattern, phase, fromMs + spanMs) / spanMs);
  return after > before ? pattern.peak : pattern.base;
}

/** A per-process phase (ms), so that a fleet of spiky workers does not spike in lockstep. */
function spikePhase(pattern: Spiky, seedKey: string): number {
  return unitRandom(seedKey, 'spike-phase') * pattern.every;
}

/** Time a spiky pattern of phase `phase` spends at its peak from the process's start to `t` (ms). */
function timeAtPeak(pattern: Spiky, phase: number, t: number): number {
  // A spike as long as its period or longer never ends (valueAt: always the peak).
  const high = Math.min(Math.max(0, pattern.for), pattern.every);
  const until = (x: number) => {
    const rounds = Math.floor(x / pattern.every);
    return rounds * high + Math.min(high, x - rounds * pattern.every);
  };
  return until(t + phase) - until(phase);
}

/** Sums of a replay's values before each index: sums[i] = values[0] + ... + values[i - 1]. */
const prefixSums = new WeakMap<readonly number[], Float64Array>();

function sumsOf(values: readonly number[]): Float64Array {
  let sums = prefixSums.get(values);
  if (!sums) {
    sums = new Float64Array(values.length + 1);
    for (let i = 0; i < values.length; i++) sums[i + 1] = (sums[i] as number) + (values[i] as number);
    prefixSums.set(values, sums);
  }
  return sums;
}

/** Integral of a replay's value from 0 to `t` >= 0 (value x ms): step by step, over again or the last one. */
function heldUntil(
  pattern: { every: number; values: readonly number[]; repeat: boolean },
  t: number,
): number {
  const { every, values } = pattern;
  const n = values.length;
  const sums = sumsOf(values);
  const round = every * n;
  let rounds = 0;
  let rest = t;
  if (t >= round) {
    if (!pattern.repeat) return (sums[n] as number) * every + (values[n - 1] as number) * (t - round);
    rounds = Math.floor(t / round);
    rest = t - rounds * round;
  }
  const step = Math.min(n - 1, Math.floor(rest / every));
  return (
    rounds * (sums[n] as number) * every +
    (sums[step] as number) * every +
    (values[step] as number) * (rest - step * every)
  );
}

/** The largest value the pattern can take (for memory headroom checks). */
export function peakOf(pattern: Pattern): number {
  switch (pattern.pattern) {
    case 'steady':
      return pattern.value;
    case 'spiky':
      return Math.max(pattern.base, pattern.peak);
    case 'growing':
      return Math.max(pattern.start, pattern.max);
    case 'random':
      return pattern.max;
    case 'replay':
      // A loop, not Math.max(...values): a spread of 10,000 arguments is close to V8's limits.
      return pattern.values.reduce((max, value) => Math.max(max, value), 0);
  }
}

/** A short label such as "spiky(3-25%)" used as the simulator.*_pattern attribute value. */
export function patternName(pattern: Pattern): string {
  return pattern.pattern;
}
