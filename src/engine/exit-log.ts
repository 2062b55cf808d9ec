/**
 * The newest exits of one simulation, for a pipeline verification: which PIDs ended when, so that
 * their series can be required gone downstream and their linger measured.
 *
 * Bounded whatever the churn: a ring of the newest `limit` exits in parallel typed arrays (about 30
 * bytes per exit plus the name, which the process already held), so 10,000 exits cost ~0.3 MB and a
 * simulation exiting 100 processes a second for a day holds no more than that.
 */
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import type { ExitReason } from './events.ts';

/** Exits kept per simulation. */
export const EXIT_LOG_LIMIT = 10_000;

const REASONS: readonly ExitReason[] = ['lifetime', 'stopped', 'killed', 'crashed'];

export interface ExitRecord {
  pid: number;
  name: string;
  priority: Priority;
  reason: ExitReason;
  /** when the engine saw it start (spawn resolved), epoch ms */
  startedAtMs: number;
  /** when the engine saw it reaped, epoch ms */
  exitedAtMs: number;
}

export class ExitLog {
  readonly limit: number;
  #pids: Int32Array;
  #started: Float64Array;
  #exited: Float64Array;
  #codes: Uint8Array;
  #names: string[] = [];
  /** exits ever recorded */
  #total = 0;

  constructor(limit = EXIT_LOG_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${String(limit)}`);
    this.limit = limit;
    // Grown on demand up to the limit: most simulations exit far fewer processes than it.
    const initial = Math.min(limit, 64);
    this.#pids = new Int32Array(initial);
    this.#started = new Float64Array(initial);
    this.#exited = new Float64Array(initial);
    this.#codes = new Uint8Array(initial);
  }

  /** Exits ever recorded, kept or not. */
  get total(): number {
    return this.#total;
  }

  /** Exits kept (at most `limit`). */
  get size(): number {
    return Math.min(this.#total, this.limit);
  }

  add(record: ExitRecord): void {
    if (this.#total < this.limit && this.#total === this.#pids.length) this.#grow();
    const at = this.#total % this.limit;
    this.#pids[at] = record.pid;
    this.#started[at] = record.startedAtMs;
    this.#exited[at] = record.exitedAtMs;
    this.#codes[at] = PRIORITIES.indexOf(record.priority) * 4 + REASONS.indexOf(record.reason);
    this.#names[at] = record.name;
    this.#total++;
  }

  /** The kept exits, oldest first; only those that exited at or after `sinceMs` when given. */
  list(sinceMs = Number.NEGATIVE_INFINITY): ExitRecord[] {
    const records: ExitRecord[] = [];
    const size = this.size;
    const first = this.#total - size;
    for (let i = first; i < this.#total; i++) {
      const at = i % this.limit;
      const exitedAtMs = this.#exited[at] as number;
      if (exitedAtMs < sinceMs) continue;
      const code = this.#codes[at] as number;
      records.push({
        pid: this.#pids[at] as number,
        name: this.#names[at] as string,
        priority: PRIORITIES[Math.floor(code / 4)] as Priority,
        reason: REASONS[code % 4] as ExitReason,
        startedAtMs: this.#started[at] as number,
        exitedAtMs,
      });
    }
    return records;
  }

  #grow(): void {
    const size = Math.min(this.limit, this.#pids.length * 2);
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.#pids = grow(this.#pids, (n) => new Int32Array(n));
    this.#started = grow(this.#started, (n) => new Float64Array(n));
    this.#exited = grow(this.#exited, (n) => new Float64Array(n));
    this.#codes = grow(this.#codes, (n) => new Uint8Array(n));
  }
}
