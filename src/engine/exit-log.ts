/**
 * The newest exits of one simulation: which PIDs ended when and why (a pipeline verification requires
 * their series gone downstream and measures their linger), and what the sampler saw of each (whether
 * any observer of the simulator's own metrics could have seen it, and whether its last counters went
 * out): the per-process ground truth of churn.
 *
 * Bounded whatever the churn: a ring of the newest `limit` exits in parallel typed arrays (about 70
 * bytes per exit plus the name, which the process already held), so 10,000 exits cost ~0.7 MB and a
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
  generation: number;
  exitCode: number | undefined;
  signal: string | undefined;
  /** readings the sampler took of it; 0 = no observer of the simulator's metrics could have seen it */
  samples: number;
  firstSampledAtMs: number | undefined;
  lastSampledAtMs: number | undefined;
  /** read right before the engine ended it, so its last counters went out (never for a crash) */
  finalReading: boolean;
}

type Column = Int32Array | Float64Array | Uint8Array | Uint32Array | Int16Array;

export class ExitLog {
  readonly limit: number;
  #pids: Int32Array;
  #started: Float64Array;
  #exited: Float64Array;
  /** priority x 4 + reason */
  #codes: Uint8Array;
  #generations: Uint32Array;
  /** exit code, -1 when it ended by a signal */
  #exitCodes: Int16Array;
  #samples: Uint32Array;
  /** NaN when never sampled */
  #firstSampled: Float64Array;
  #lastSampled: Float64Array;
  #final: Uint8Array;
  #names: string[] = [];
  #signals: Array<string | undefined> = [];
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
    this.#generations = new Uint32Array(initial);
    this.#exitCodes = new Int16Array(initial);
    this.#samples = new Uint32Array(initial);
    this.#firstSampled = new Float64Array(initial);
    this.#lastSampled = new Float64Array(initial);
    this.#final = new Uint8Array(initial);
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
    this.#generations[at] = record.generation;
    this.#exitCodes[at] = record.exitCode ?? -1;
    this.#samples[at] = record.samples;
    this.#firstSampled[at] = record.firstSampledAtMs ?? Number.NaN;
    this.#lastSampled[at] = record.lastSampledAtMs ?? Number.NaN;
    this.#final[at] = record.finalReading ? 1 : 0;
    this.#names[at] = record.name;
    this.#signals[at] = record.signal;
    this.#total++;
  }

  /** The kept exits, oldest first; only those that exited at or after `sinceMs` when given. */
  list(sinceMs = Number.NEGATIVE_INFINITY): ExitRecord[] {
    const records: ExitRecord[] = [];
    const size = this.size;
    const first = this.#total - size;
    const optional = (value: number) => (Number.isNaN(value) ? undefined : value);
    for (let i = first; i < this.#total; i++) {
      const at = i % this.limit;
      const exitedAtMs = this.#exited[at] as number;
      if (exitedAtMs < sinceMs) continue;
      const code = this.#codes[at] as number;
      const exitCode = this.#exitCodes[at] as number;
      records.push({
        pid: this.#pids[at] as number,
        name: this.#names[at] as string,
        priority: PRIORITIES[Math.floor(code / 4)] as Priority,
        reason: REASONS[code % 4] as ExitReason,
        startedAtMs: this.#started[at] as number,
        exitedAtMs,
        generation: this.#generations[at] as number,
        exitCode: exitCode < 0 ? undefined : exitCode,
        signal: this.#signals[at],
        samples: this.#samples[at] as number,
        firstSampledAtMs: optional(this.#firstSampled[at] as number),
        lastSampledAtMs: optional(this.#lastSampled[at] as number),
        finalReading: this.#final[at] === 1,
      });
    }
    return records;
  }

  #grow(): void {
    const size = Math.min(this.limit, this.#pids.length * 2);
    const grow = <T extends Column>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.#pids = grow(this.#pids, (n) => new Int32Array(n));
    this.#started = grow(this.#started, (n) => new Float64Array(n));
    this.#exited = grow(this.#exited, (n) => new Float64Array(n));
    this.#codes = grow(this.#codes, (n) => new Uint8Array(n));
    this.#generations = grow(this.#generations, (n) => new Uint32Array(n));
    this.#exitCodes = grow(this.#exitCodes, (n) => new Int16Array(n));
    this.#samples = grow(this.#samples, (n) => new Uint32Array(n));
    this.#firstSampled = grow(this.#firstSampled, (n) => new Float64Array(n));
    this.#lastSampled = grow(this.#lastSampled, (n) => new Float64Array(n));
    this.#final = grow(this.#final, (n) => new Uint8Array(n));
  }
}
