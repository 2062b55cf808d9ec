/**
 * The latest reading of every live simulated process: written by the sampler once per interval, read by
 * both exporters (OTLP and Prometheus) so they always agree and /proc is read once, not once per reader.
 */
import type { ProcessInfo } from '../engine/managed-process.ts';
import type { ProcessIdentity, ProcessSample } from '../proc/reader.ts';

/**
 * One reading of one process. The sampler writes each process's readings into two entries in turn: an
 * entry holds its reading while its snapshot is the latest and until the next sample is published, then
 * the one after writes into it again. Read it within a collect and copy what you keep; a final reading
 * (`Snapshot.departed`) is never written again.
 */
export interface SampledProcess {
  readonly info: ProcessInfo;
  readonly identity: ProcessIdentity;
  readonly sample: ProcessSample;
  /**
   * CPU use in percent of one core between the previous sample of this process and this one; undefined
   * for a process's first sample (a rate needs two readings).
   */
  readonly cpuPercent?: number;
}

export interface Snapshot {
  /** when the sample started, epoch ms */
  readonly takenAtMs: number;
  /** how long reading every process took */
  readonly durationMs: number;
  readonly processes: ReadonlyMap<number, SampledProcess>;
  /**
   * Live processes left out because reading them failed for another reason than their exit (EACCES,
   * EIO, a malformed file), with the error: reported, not silently missing.
   */
  readonly unreadable: ReadonlyMap<number, string>;
  /**
   * The last readings of processes that exited since the previous snapshot and are not in this one:
   * read right before the engine ended each of them, so that the counters they reached (CPU since the
   * previous sample) are exported once (OTLP, see `SnapshotStore.takeDeparted`) instead of lost. Never
   * shown as live.
   */
  readonly departed: ReadonlyMap<number, SampledProcess>;
}

/** A fresh empty snapshot per store: `put` changes the latest snapshot in place. */
const emptySnapshot = (): Snapshot => ({
  takenAtMs: 0,
  durationMs: 0,
  processes: new Map(),
  unreadable: new Map(),
  departed: new Map(),
});

export class SnapshotStore {
  #latest: Snapshot = emptySnapshot();
  #listeners: Array<(snapshot: Snapshot) => void> = [];
  #refresh: (() => void) | undefined;
  /** departed readings not yet taken: of the latest publish, and of the one before */
  #departedNewer: ReadonlyMap<number, SampledProcess> = new Map();
  #departedOlder: ReadonlyMap<number, SampledProcess> = new Map();

  latest(): Snapshot {
    return this.#latest;
  }

  /**
   * The latest snapshot once the processes started since it have been read into it (the sampler's
   * `refresh`, a few /proc reads per new process): what the exporters collect, so that a scrape shows
   * every live process, the ones started a moment ago included.
   */
  fresh(): Snapshot {
    this.#refresh?.();
    return this.#latest;
  }

  /**
   * The departed readings published and not yet taken, once: the push exporter takes them with each
   * export, so a reading goes out once even when one export is skipped or a snapshot is exported twice.
   * Nobody taking them (no OTLP) keeps only the last two publishes' worth.
   */
  takeDeparted(): ReadonlyMap<number, SampledProcess> {
    const taken =
      this.#departedOlder.size === 0
        ? this.#departedNewer
        : new Map([...this.#departedOlder, ...this.#departedNewer]);
    this.#departedOlder = new Map();
    this.#departedNewer = new Map();
    return taken;
  }

  /** Sets what `fresh()` does first (the sampler reading its new processes); one at a time. */
  onFresh(refresh: () => void): void {
    this.#refresh = refresh;
  }

  /**
   * Publishes a new snapshot and tells the listeners (the OTLP reader exports right after). The store
   * owns `snapshot.processes` from here on: pass a map that nothing else keeps.
   */
  publish(snapshot: Snapshot): void {
    this.#latest = snapshot;
    this.#departedOlder = this.#departedNewer;
    this.#departedNewer = snapshot.departed;
    for (const listener of this.#listeners) listener(snapshot);
  }

  /**
   * Forgets a process that exited, at once: its series leave both exporters at the next collect, not
   * one interval later. In place and O(1): a snapshot is a fresh map per sample that only the store
   * changes after publishing it (copying it per exit made stopping 10,000 processes quadratic), and
   * collects read it synchronously, so none sees a half-dropped process.
   */
  drop(pid: number): void {
    (this.#latest.processes as Map<number, SampledProcess>).delete(pid);
  }

  /**
   * Puts a reading of one live process into the latest snapshot, in place like `drop`: a new process
   * read between two samples shows at once, a process read right before it is ended shows its last
   * counters until its exit drops it. Not published: the exporters that push (OTLP) send it with the
   * next sample.
   */
  put(entry: SampledProcess): void {
    (this.#latest.processes as Map<number, SampledProcess>).set(entry.info.pid, entry);
  }

  onPublish(listener: (snapshot: Snapshot) => void): void {
    this.#listeners.push(listener);
  }
}
