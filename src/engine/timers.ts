/**
 * Timers of the engine. Node's setTimeout takes at most 2^31-1 ms (about 24.8 days) and silently turns
 * anything longer, NaN or negative into 1 ms: a `restart_delay` of "999h" restarted at once and a
 * 25-day duration ended after a second. Every duration that reaches a timer is refused at the door
 * beyond this limit (profile schema, environment, API); this wrapper throws instead of firing early if
 * one ever slips through. Every engine timer is unref()ed: it never keeps the process alive.
 */

import { formatDuration, MAX_DURATION_MS } from '../profiles/units.ts';
import { EngineError } from './errors.ts';

/** The longest delay a Node timer can wait, in ms (about 24.8 days). */
export const MAX_TIMER_MS = MAX_DURATION_MS;

/**
 * setTimeout that refuses a delay it cannot honour and does not keep the process alive.
 * @throws RangeError for a delay that is not a finite number from 0 to MAX_TIMER_MS
 */
export function startTimer(callback: () => void, delayMs: number): NodeJS.Timeout {
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_TIMER_MS) {
    throw new RangeError(`timer delay must be 0..${MAX_TIMER_MS} ms, got ${delayMs}`);
  }
  const timer = setTimeout(callback, delayMs);
  timer.unref();
  return timer;
}

/** Refuses a start time a timer cannot wait for. */
export function checkStartAt(startAtMs: number): void {
  const delay = startAtMs - Date.now();
  if (!Number.isFinite(startAtMs) || delay > MAX_TIMER_MS) {
    throw new EngineError(
      'invalid',
      `start_at ${Number.isFinite(startAtMs) ? new Date(startAtMs).toISOString() : String(startAtMs)} is more than ${formatDuration(MAX_TIMER_MS)} away (the longest a timer can wait)`,
      { field: 'start_at', value: startAtMs, limit: MAX_TIMER_MS },
    );
  }
}
