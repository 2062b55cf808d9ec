/**
 * Churn: processes of a name that came and went during the recording, as a template the engine keeps
 * replacing. Its processes live between the shortest and the longest lifetime seen (the engine draws
 * each lifetime evenly between the two), `count` slots are as many as were ever alive at once, and the
 * pause before a slot is refilled (restart_delay) makes the starts per second those of the recording:
 * each slot restarts every count / rate seconds, so delay = count / rate - mean lifetime (at least 0).
 * A lifetime is measured from the process's start (exact, /proc) to halfway between the last reading
 * that saw it and the next one, so it is known to within half an interval; processes that started and
 * ended between two readings are never seen, which the recording's notes count.
 */
import { MAX_DURATION_MS } from '../profiles/units.ts';
import { moments } from './stats.ts';

export interface ChurnInput {
  /** lifetimes of the processes that exited during the recording, ms */
  lifetimesMs: readonly number[];
  /** how many of the name's churning processes were alive at each reading */
  aliveAtReadings: readonly number[];
  /** time from the first reading to the last, ms */
  windowMs: number;
}

export interface ChurnFit {
  count: number;
  lifetime: { min: number; max: number };
  restartDelayMs: number;
  /** exits per minute seen */
  exitsPerMinute: number;
  notes: string[];
}

/** The churn template's numbers, or undefined when nothing exited (no lifetime was seen). */
export function fitChurn(input: ChurnInput): ChurnFit | undefined {
  const exits = input.lifetimesMs.length;
  if (exits === 0 || input.windowMs <= 0) return undefined;
  const notes: string[] = [];
  const lifetimes = input.lifetimesMs.map((ms) => {
    if (ms <= MAX_DURATION_MS) return Math.max(1, Math.round(ms));
    notes.push(
      `a lifetime of ${Math.round(ms / 86_400_000)} days is recorded as the longest a profile holds (24.8 days)`,
    );
    return MAX_DURATION_MS;
  });
  const stats = moments(lifetimes);
  const count = Math.max(1, ...input.aliveAtReadings);
  const ratePerMs = exits / input.windowMs;
  const restartDelayMs = Math.min(MAX_DURATION_MS, Math.max(0, Math.round(count / ratePerMs - stats.mean)));
  return {
    count,
    lifetime: { min: stats.min, max: stats.max },
    restartDelayMs,
    exitsPerMinute: ratePerMs * 60_000,
    notes,
  };
}
