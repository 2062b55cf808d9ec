/**
 * The recent /proc readings of every process, kept so that a value seen downstream can be compared
 * with the simulator's readings from before and after the moment it was read: the skew between two
 * reads is then bounded by two real readings instead of guessed.
 *
 * Compact and bounded: each published snapshot becomes one sorted Int32Array of PIDs and one
 * Float64Array of numbers (READING_FIELDS per process, 112 bytes), and the oldest snapshots go first
 * once the history holds more than `maxReadings` readings, `maxSnapshots` snapshots or `maxAgeMs` of
 * time. At 10,000 processes the default keeps the last 12 samples (2 minutes at the default 10 s
 * interval) in ~13 MB; at 100 processes, ten minutes' worth.
 */
import type { ProcessSample } from '../proc/reader.ts';
import type { Snapshot } from '../sampler/snapshot.ts';
import { READING_FIELDS, type Reading } from './truth.ts';

const WIDTH = READING_FIELDS.length;

export interface ReadingHistoryOptions {
  /** readings kept over all snapshots @default 120000 */
  maxReadings?: number;
  /** snapshots kept @default 600 */
  maxSnapshots?: number;
  /** oldest snapshot kept @default 10 minutes */
  maxAgeMs?: number;
}

interface Stored {
  takenAtMs: number;
  pids: Int32Array;
  values: Float64Array;
}

/** A ProcessSample as a reading (numbers in the order of READING_FIELDS). */
export function toReading(sample: ProcessSample): number[] {
  const reading = new Array<number>(WIDTH);
  writeReading(sample, reading, 0);
  return reading;
}

/**
 * Writes a ProcessSample's reading into `out` at `at`: a snapshot's readings go straight into its
 * array, not through an array per process (10,000 per sample).
 */
function writeReading(sample: ProcessSample, out: { [i: number]: number }, at: number): void {
  out[at] = sample.readAtMs;
  out[at + 1] = sample.cpuUserSeconds;
  out[at + 2] = sample.cpuSystemSeconds;
  out[at + 3] = sample.cpuWaitSeconds;
  out[at + 4] = sample.rssBytes;
  out[at + 5] = sample.vmsBytes;
  out[at + 6] = sample.threads;
  out[at + 7] = sample.openFds;
  out[at + 8] = sample.readChars;
  out[at + 9] = sample.writeChars;
  out[at + 10] = sample.involuntaryCtxSwitches;
  out[at + 11] = sample.voluntaryCtxSwitches;
  out[at + 12] = sample.majorFaults;
  out[at + 13] = sample.minorFaults;
}

export class ReadingHistory {
  readonly #snapshots: Stored[] = [];
  readonly #maxReadings: number;
  readonly #maxSnapshots: number;
  readonly #maxAgeMs: number;
  #readings = 0;

  constructor(options: ReadingHistoryOptions = {}) {
    this.#maxReadings = options.maxReadings ?? 120_000;
    this.#maxSnapshots = options.maxSnapshots ?? 600;
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  }

  /** Keeps a published snapshot (pass it to SnapshotStore.onPublish). */
  record(snapshot: Snapshot): void {
    const entries = [...snapshot.processes.values()].sort((a, b) => a.sample.pid - b.sample.pid);
    const pids = new Int32Array(entries.length);
    const values = new Float64Array(entries.length * WIDTH);
    entries.forEach((entry, i) => {
      pids[i] = entry.info.pid;
      writeReading(entry.sample, values, i * WIDTH);
    });
    this.#snapshots.push({ takenAtMs: snapshot.takenAtMs, pids, values });
    this.#readings += entries.length;
    const oldest = snapshot.takenAtMs - this.#maxAgeMs;
    while (
      this.#snapshots.length > 1 &&
      (this.#readings > this.#maxReadings ||
        this.#snapshots.length > this.#maxSnapshots ||
        (this.#snapshots[0] as Stored).takenAtMs < oldest)
    ) {
      this.#readings -= (this.#snapshots.shift() as Stored).pids.length;
    }
  }

  /** Start of the oldest snapshot kept, epoch ms (Infinity when there is none). */
  get fromMs(): number {
    return this.#snapshots[0]?.takenAtMs ?? Number.POSITIVE_INFINITY;
  }

  /** Readings kept over all snapshots. */
  get size(): number {
    return this.#readings;
  }

  /**
   * The readings of `pid`, oldest first: those of snapshots taken at or after `sinceMs`, plus the
   * newest one before it, so that a moment right after `sinceMs` still has a reading on each side.
   */
  readingsOf(pid: number, sinceMs = Number.NEGATIVE_INFINITY): Reading[] {
    const readings: Reading[] = [];
    let before: Reading | undefined;
    for (const stored of this.#snapshots) {
      const at = indexOf(stored.pids, pid);
      if (at < 0) continue;
      const reading = Array.from(stored.values.subarray(at * WIDTH, (at + 1) * WIDTH));
      if (stored.takenAtMs < sinceMs) before = reading;
      else readings.push(reading);
    }
    return before ? [before, ...readings] : readings;
  }
}

/** Binary search in a sorted Int32Array; -1 when absent. */
function indexOf(sorted: Int32Array, value: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = sorted[middle] as number;
    if (at === value) return middle;
    if (at < value) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
