/**
 * Bounded polling for tests. One loop with three faces: `waitFor` throws naming what was awaited,
 * `waitUntil` answers yes or no for an assertion with its own message, and `readUntil` hands back the
 * last reading so that the assertion can print it. Every wait has a deadline and a cap on attempts.
 */
import { setTimeout as delay } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => delay(ms);

/**
 * Reads until `done` holds or `timeoutMs` passes; the last reading is taken at or after the deadline,
 * so a slow machine still gets one look at the end.
 */
async function poll<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  timeoutMs: number,
  everyMs: number,
): Promise<{ value: T; done: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / everyMs) + 1;
  let value = await read();
  for (let attempt = 1; !done(value) && attempt < maxAttempts && Date.now() < deadline; attempt++) {
    await delay(everyMs);
    value = await read();
  }
  return { value, done: done(value) };
}

/** What a truthy result can be: `cond && value` checks return `false | value`. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface WaitOptions {
  /** give up after this long */
  timeoutMs: number;
  /** pause between two checks @default 200 */
  everyMs?: number;
  /** what the last check saw, added to the timeout message */
  lastSeen?: () => string;
}

/**
 * Resolves with the first truthy result of `check`, polled until `timeoutMs`.
 * @throws Error naming `what` and the last state seen when the deadline passes
 */
export async function waitFor<T>(
  what: string,
  options: WaitOptions,
  check: () => Promise<T> | T,
): Promise<Truthy<T>> {
  const { value, done } = await poll(check, Boolean, options.timeoutMs, options.everyMs ?? 200);
  if (done) return value as Truthy<T>;
  const seen = options.lastSeen ? `; last seen: ${options.lastSeen()}` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${seen}`);
}

/** True once `condition` holds, false when `timeoutMs` passes first. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  return (await poll(condition, Boolean, timeoutMs, everyMs)).done;
}

/** Reads until `done` holds or `timeoutMs` passes, and returns the last reading either way. */
export async function readUntil<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  timeoutMs = 3000,
  everyMs = 20,
): Promise<T> {
  return (await poll(read, done, timeoutMs, everyMs)).value;
}
