/**
 * The sampling loop: once per interval, reads every live simulated process from /proc and publishes one
 * snapshot. Never overlaps itself, never rejects, never keeps the process alive, and yields to the event
 * loop between chunks so the API stays responsive with thousands of processes. A process whose files
 * cannot be read is left out of that snapshot, counted and reported; the others are published.
 *
 * Between two samples it also reads, one process at a time, what a sample would see too late:
 * - a new process (`sampleSoon`), within about a second of its start, in passes that gather every
 *   process started meanwhile (at most one pass per `newProcessGapMs`), put into the latest snapshot so
 *   it shows on /metrics at once instead of up to an interval later, or never for a short job; and
 *   sooner when an exporter collects (`SnapshotStore.fresh`), so that /metrics lists every live process;
 * - a process the engine is about to end (`readFinal`), right before the signal, so that its counters
 *   since the previous sample are not lost: that reading goes out once with the next snapshot
 *   (`Snapshot.departed`). A crash, which the engine does not cause, gets no such reading: its last
 *   reading is the last sample's.
 */
import type { ProcessInfo } from '../engine/managed-process.ts';
import type { ProcessIdentity, ProcReader } from '../proc/reader.ts';
import { cpuPercentSince, sameProcess, utilizationSince } from './rates.ts';
import type { SampledProcess, SnapshotStore } from './snapshot.ts';

/** An entry the sampler writes again (see `Sampler.#slots`); readonly to everyone else. */
type Entry = { -readonly [K in keyof SampledProcess]: SampledProcess[K] };

/**
 * The two entries of one process that its readings are written into in turn. One is in the latest
 * snapshot, the other is free: a reading goes into the free one, so the latest snapshot never changes
 * under a reader, and a snapshot stays as published until two samples later.
 */
interface Slot {
  a: Entry;
  b: Entry | undefined;
}

/** Where the sampler learns which PIDs to read (the engine). */
export interface SampleSource {
  liveProcesses(): ProcessInfo[];
  /** still alive now (a process may exit while a long sample is being read) */
  owns(pid: number): boolean;
  /** one live process, for a reading between two samples; undefined once it is gone */
  processInfo(pid: number): ProcessInfo | undefined;
  /** told about each reading of a live process, `final` for the one before the engine ends it */
  recordSampled(pid: number, readAtMs: number, final: boolean): void;
}

export interface SamplerOptions {
  source: SampleSource;
  reader: ProcReader;
  store: SnapshotStore;
  /** @default 10000 */
  intervalMs?: number;
  /** processes read between two yields to the event loop @default 500 */
  chunkSize?: number;
  /** a new process is read no sooner than this after `sampleSoon`, gathering a burst of starts @default 100 */
  newProcessDelayMs?: number;
  /** at most one pass of new processes per this long @default 1000 */
  newProcessGapMs?: number;
  /** fill in `cpuUtilization` (a small object per process per reading) @default true */
  cpuUtilization?: boolean;
  /** told about each finished sample (duration, processes read, gone, unreadable) */
  onSample?: (stats: SampleStats) => void;
  /**
   * told when a process first fails to read for another reason than its exit (EACCES, EIO, a file that
   * is not what the kernel writes), and not again while it keeps failing. @default process.emitWarning
   */
  onReadError?: (pid: number, error: Error) => void;
}

export interface SampleStats {
  durationMs: number;
  /** processes in the snapshot */
  processes: number;
  /** processes that exited while the sample was read: normal, not an error */
  vanished: number;
  /** processes left out because reading them failed (see `Snapshot.unreadable`) */
  unreadable: number;
}

export class Sampler {
  readonly #options: Required<Omit<SamplerOptions, 'onSample'>> & Pick<SamplerOptions, 'onSample'>;
  /**
   * identity (exe, cmdline, owner) never changes for a process of ours: read once, with the start (stat
   * starttime) of the process it was read for, so that another process under the same PID (reused
   * before the next sample forgets the first) is read anew instead of showing the first one's
   */
  readonly #identities = new Map<number, { identity: ProcessIdentity; startTicks: number }>();
  /**
   * Each process's entries, written again at each reading instead of made anew. Made anew, the readings
   * of 10,000 processes (an object and a few boxed numbers each) lived an interval: copied by the young
   * collections meanwhile, promoted, then dead in the old generation. They were 18 of the 50 MiB that
   * outlived a young collection in 40 s at 10,000. Readers keep no entry past a collect: they copy.
   */
  readonly #slots = new Map<number, Slot>();
  /** PIDs whose last read failed, so that a lasting failure is reported once, not once per interval */
  readonly #failing = new Set<number>();
  /** new processes waiting for their first reading */
  readonly #pending = new Set<number>();
  #pendingTimer: NodeJS.Timeout | undefined;
  #lastPendingPassMs = Number.NEGATIVE_INFINITY;
  /** final readings not yet published, by PID */
  readonly #departing = new Map<number, SampledProcess>();
  /** PIDs put into the latest snapshot while a sample runs: it did not list them, it keeps them */
  readonly #putWhileSampling = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SamplerOptions) {
    options.store.onFresh(() => this.#readPending());
    this.#options = {
      intervalMs: 10_000,
      chunkSize: 500,
      newProcessDelayMs: 100,
      newProcessGapMs: 1000,
      cpuUtilization: true,
      onReadError: (pid, error) => process.emitWarning(`sampling left out pid ${pid}: ${error.message}`),
      ...options,
    };
  }

  /** Samples now, then every interval. */
  start(): void {
    this.#stopped = false;
    void this.sampleNow();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#pendingTimer) clearTimeout(this.#pendingTimer);
    this.#pendingTimer = undefined;
  }

  /**
   * Reads a process that just started within about a second (see the file's comment); a sample under
   * way or due meanwhile reads it too. Ignored once stopped.
   */
  sampleSoon(pid: number): void {
    if (this.#stopped) return;
    this.#pending.add(pid);
    if (this.#pendingTimer) return;
    const { newProcessDelayMs, newProcessGapMs } = this.#options;
    const delay = Math.max(newProcessDelayMs, this.#lastPendingPassMs + newProcessGapMs - Date.now());
    this.#pendingTimer = setTimeout(() => {
      this.#pendingTimer = undefined;
      this.#lastPendingPassMs = Date.now();
      this.#readPending();
    }, delay);
    this.#pendingTimer.unref();
  }

  /**
   * Reads a live process one last time, now, synchronously: the engine calls it right before it sends
   * the signal that ends the process. The reading shows in the latest snapshot until the exit drops it,
   * and goes out with the next one as departed. Never throws: a failed reading costs only that reading.
   */
  readFinal(pid: number): void {
    const { source, store } = this.#options;
    try {
      const info = source.processInfo(pid);
      if (!info) return;
      this.#pending.delete(pid);
      // A final reading is an entry of its own: it stays as read until it departs with a snapshot.
      const entry = this.#readEntry(
        info,
        this.#departing.get(pid) ?? store.latest().processes.get(pid),
        'own',
      );
      if (!entry) return;
      this.#departing.set(pid, entry);
      this.#put(entry);
      source.recordSampled(pid, entry.sample.readAtMs, true);
    } catch (error) {
      this.#reportFailure(pid, error as Error);
    }
  }

  /**
   * Reads the new processes gathered since the last reading of them, synchronously (a few /proc reads
   * each), into the latest snapshot. Never throws.
   */
  #readPending(): void {
    if (this.#pending.size === 0) return;
    const { source, store } = this.#options;
    const pids = [...this.#pending];
    this.#pending.clear();
    for (const pid of pids) {
      try {
        const info = source.processInfo(pid);
        if (!info) continue;
        const entry = this.#readEntry(info, store.latest().processes.get(pid), 'new');
        if (!entry) continue;
        this.#failing.delete(pid);
        this.#put(entry);
        source.recordSampled(pid, entry.sample.readAtMs, false);
      } catch (error) {
        this.#reportFailure(pid, error as Error);
      }
    }
  }

  /** Into the latest snapshot now; a sample under way keeps it (it did not list it). */
  #put(entry: SampledProcess): void {
    this.#options.store.put(entry);
    if (this.#running) this.#putWhileSampling.add(entry.info.pid);
  }

  /**
   * One process's identity (read once) and reading, with the rates since `previous`; undefined when
   * it is gone or a zombie. Throws what the reader throws. Where the reading goes (see `#slots`):
   * - `reuse`, a sample's: into the process's other entry when `previous` is one of its two, else into
   *   a new one that becomes its first;
   * - `new`, a new process's: into a new entry that becomes its first;
   * - `own`, a final reading: into a new entry of its own, which is never written again.
   */
  #readEntry(
    info: ProcessInfo,
    previous: SampledProcess | undefined,
    into: 'reuse' | 'new' | 'own',
  ): SampledProcess | undefined {
    const { reader } = this.#options;
    const known = this.#identities.get(info.pid);
    let identity = known?.identity ?? this.#readIdentity(info.pid);
    if (!identity) return undefined;
    const slot = this.#slots.get(info.pid);
    // `previous` is the process's entry in the latest snapshot. When it is one of the two, the other is
    // in no snapshot a reader may still hold: the one published last had `previous`, or an entry put
    // after it that replaced the slot. Anything else (none, a final reading) starts the two again.
    let free: Entry | undefined;
    if (into === 'reuse' && slot !== undefined && previous !== undefined) {
      if (previous === slot.a) free = slot.b;
      else if (previous === slot.b) free = slot.a;
    }
    const sample = reader.readProcess(info.pid, free?.sample);
    if (!sample) return undefined;
    if (known === undefined || known.startTicks !== sample.startTicks) {
      // Known for another process under this PID: read anew.
      if (known !== undefined) identity = this.#readIdentity(info.pid);
      if (!identity) {
        this.#identities.delete(info.pid);
        return undefined;
      }
      this.#identities.set(info.pid, { identity, startTicks: sample.startTicks });
    }
    const same = previous !== undefined && sameProcess(previous.sample, sample);
    if (same && this.#options.cpuUtilization) {
      sample.cpuUtilization = utilizationSince(
        previous.sample,
        sample,
        reader.logicalCpus,
        sample.cpuUtilization,
      );
    } else {
      sample.cpuUtilization = undefined;
    }
    const cpuPercent = same ? cpuPercentSince(previous.sample, sample) : undefined;
    if (free) {
      free.sample = sample; // the same object, unless a reader made a new one
      free.info = info;
      free.identity = identity;
      free.cpuPercent = cpuPercent;
      return free;
    }
    const entry: Entry = { info, identity, sample, cpuPercent };
    if (into === 'own') return entry;
    if (into === 'reuse' && slot !== undefined && previous === slot.a) slot.b = entry;
    else this.#slots.set(info.pid, { a: entry, b: undefined });
    return entry;
  }

  /** A process's identity; undefined when it is gone, a zombie, or not yet exec'd into its command line. */
  #readIdentity(pid: number): ProcessIdentity | undefined {
    const identity = this.#options.reader.readIdentity(pid);
    // Every simulated process has a command line. An empty one is a process between its exec and the
    // kernel setting its argv (a moment; the launcher waits it out, the fallback spawner does not):
    // kept, it would be the process's identity for good, so the process is read next time.
    if (!identity || identity.commandLine.length === 0) return undefined;
    return identity;
  }

  /** A lasting failure is reported once, not at every reading. */
  #reportFailure(pid: number, error: Error): void {
    if (this.#failing.has(pid)) return;
    this.#failing.add(pid);
    this.#options.onReadError(pid, error);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.sampleNow().finally(() => this.#schedule());
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Takes one sample now (after the one in progress, if any). Never rejects. */
  sampleNow(): Promise<void> {
    // A sample in progress may have listed the processes before the caller's change (a ramp, a stop):
    // the caller gets a fresh sample after it. Several callers meanwhile share that one follow-up.
    if (this.#running) {
      this.#queued ??= this.#running.then(() => {
        this.#queued = undefined;
        return this.sampleNow();
      });
      return this.#queued;
    }
    this.#running = this.#sample()
      .catch((error: Error) => {
        process.emitWarning(`sampling failed: ${error.message}`);
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #sample(): Promise<void> {
    const { source, store, chunkSize } = this.#options;
    const started = Date.now();
    const startedPerf = performance.now();
    const live = source.liveProcesses();
    // What this sample lists it reads: those are no longer waiting for a reading of their own.
    if (this.#pending.size > 0) for (const info of live) this.#pending.delete(info.pid);
    const previous = store.latest().processes;
    const processes = new Map<number, SampledProcess>();
    const unreadable = new Map<number, string>();
    let vanished = 0;
    for (let i = 0; i < live.length; i++) {
      const info = live[i] as ProcessInfo;
      let entry: SampledProcess | undefined;
      try {
        entry = this.#readEntry(info, previous.get(info.pid), 'reuse');
      } catch (error) {
        // One process that cannot be read costs that process, not the snapshot of every other one.
        unreadable.set(info.pid, (error as Error).message);
        this.#reportFailure(info.pid, error as Error);
        continue;
      } finally {
        if ((i + 1) % chunkSize === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      this.#failing.delete(info.pid);
      // A process that exited since the engine listed it is normal: it is simply not in this snapshot.
      if (!entry) vanished++;
      else processes.set(info.pid, entry);
    }
    // Counted as seen only once it is sure to be published: a process that exited meanwhile is not.
    for (const [pid, entry] of processes) {
      if (source.owns(pid)) source.recordSampled(pid, entry.sample.readAtMs, false);
      else processes.delete(pid);
    }
    for (const pid of unreadable.keys()) if (!source.owns(pid)) unreadable.delete(pid);
    // Final readings: the newer of this sample's and the final one shows while the process is still
    // here; one that is gone leaves with this snapshot as departed.
    const departed = new Map<number, SampledProcess>();
    for (const [pid, entry] of this.#departing) {
      const read = processes.get(pid);
      if (read === undefined) departed.set(pid, entry);
      else if (read.sample.readAtMs < entry.sample.readAtMs) processes.set(pid, entry);
    }
    this.#departing.clear();
    // Read between this sample's listing and now (new, or final): not listed here, kept if still live.
    for (const pid of this.#putWhileSampling) {
      const entry = previous.get(pid);
      if (entry && !processes.has(pid) && !departed.has(pid) && source.owns(pid)) processes.set(pid, entry);
    }
    this.#putWhileSampling.clear();
    for (const pid of this.#identities.keys()) if (!processes.has(pid)) this.#identities.delete(pid);
    for (const pid of this.#slots.keys()) if (!processes.has(pid)) this.#slots.delete(pid);
    for (const pid of this.#failing) if (!unreadable.has(pid)) this.#failing.delete(pid);
    const durationMs = performance.now() - startedPerf;
    store.publish({ takenAtMs: started, durationMs, processes, unreadable, departed });
    this.#options.onSample?.({
      durationMs,
      processes: processes.size,
      vanished,
      unreadable: unreadable.size,
    });
  }
}
