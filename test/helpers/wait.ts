/**
 * Bounded polling for tests: every wait has a deadline and a cap on attempts, and a timeout names
 * what was awaited (and, when given, what was last seen).
 */
import { setTimeout as delay } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => delay(ms);

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
): Promise<NonNullable<T>> {
  const every = options.everyMs ?? 200;
  const deadline = Date.now() + options.timeoutMs;
  const maxAttempts = Math.ceil(options.timeoutMs / every) + 1;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const result = await check();
    if (result) return result as NonNullable<T>;
    if (Date.now() >= deadline) break;
    await delay(every);
  }
  const seen = options.lastSeen ? `; last seen: ${options.lastSeen()}` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${seen}`);
}
