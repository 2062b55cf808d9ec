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
      // A per-process phase so that a fleet of spiky workers does not spike in lockstep.
      const phase = unitRandom(seedKey, 'spike-phase') * pattern.every;
      return (elapsedMs + phase) % pattern.every < pattern.for ? pattern.peak : pattern.base;
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
