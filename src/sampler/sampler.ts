/**
 * The sampling loop: once per interval, reads every live simulated process from /proc and publishes one
 * snapshot. Never overlaps itself, never rejects, never keeps the process alive, and yields to the event
 * loop between chunks so the API stays responsive with thousands of processes. A process whose files
 * cannot be read is left out of that snapshot, counted and reported; the others are published.
 */
import type { ProcessInfo } from '../engine/managed-process.ts';
import type { ProcessIdentity, ProcessSample, ProcReader } from '../proc/reader.ts';
import type { SampledProcess, SnapshotStore } from './snapshot.ts';

/** Where the sampler learns which PIDs to read (the engine). */
export interface SampleSource {
  liveProcesses(): ProcessInfo[];
  /** still alive now (a process may exit while a long sample is being read) */
  owns(pid: number): boolean;
}

export interface SamplerOptions {
  source: SampleSource;
  reader: ProcReader;
  store: SnapshotStore;
  /** @default 10000 */
  intervalMs?: number;
  /** processes read between two yields to the event loop @default 500 */
  chunkSize?: number;
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
  /** identity (exe, cmdline, owner) never changes for a PID of ours: read it once */
  readonly #identities = new Map<number, ProcessIdentity>();
  /** PIDs whose last read failed, so that a lasting failure is reported once, not once per interval */
  readonly #failing = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SamplerOptions) {
    this.#options = {
      intervalMs: 10_000,
      chunkSize: 500,
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
    const { source, reader, store, chunkSize } = this.#options;
    const started = Date.now();
    const startedPerf = performance.now();
    const live = source.liveProcesses();
    const previous = store.latest().processes;
    const processes = new Map<number, SampledProcess>();
    const unreadable = new Map<number, string>();
    let vanished = 0;
    for (let i = 0; i < live.length; i++) {
      const info = live[i] as ProcessInfo;
      let identity: ProcessIdentity | undefined;
      let sample: ProcessSample | undefined;
      try {
        identity = this.#identities.get(info.pid);
        if (!identity) {
          identity = reader.readIdentity(info.pid);
          if (identity) this.#identities.set(info.pid, identity);
        }
        sample = identity ? reader.readProcess(info.pid) : undefined;
      } catch (error) {
        // One process that cannot be read costs that process, not the snapshot of every other one.
        unreadable.set(info.pid, (error as Error).message);
        if (!this.#failing.has(info.pid)) {
          this.#failing.add(info.pid);
          this.#options.onReadError(info.pid, error as Error);
        }
        continue;
      } finally {
        if ((i + 1) % chunkSize === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      this.#failing.delete(info.pid);
      // A process that exited since the engine listed it is normal: it is simply not in this snapshot.
      if (!identity || !sample) vanished++;
      else
        processes.set(info.pid, {
          info,
          identity,
          sample,
          cpuPercent: cpuPercentSince(previous.get(info.pid), sample),
        });
    }
    for (const pid of processes.keys()) if (!source.owns(pid)) processes.delete(pid);
    for (const pid of unreadable.keys()) if (!source.owns(pid)) unreadable.delete(pid);
    for (const pid of this.#identities.keys()) if (!processes.has(pid)) this.#identities.delete(pid);
    for (const pid of this.#failing) if (!unreadable.has(pid)) this.#failing.delete(pid);
    const durationMs = performance.now() - startedPerf;
    store.publish({ takenAtMs: started, durationMs, processes, unreadable });
    this.#options.onSample?.({
      durationMs,
      processes: processes.size,
      vanished,
      unreadable: unreadable.size,
    });
  }
}

/** Percent of one core used since the previous reading of the same process (same start time: no PID reuse). */
function cpuPercentSince(previous: SampledProcess | undefined, sample: ProcessSample): number | undefined {
  if (!previous || previous.sample.startTimeMs !== sample.startTimeMs) return undefined;
  const seconds = (sample.readAtMs - previous.sample.readAtMs) / 1000;
  if (seconds <= 0) return undefined;
  const used =
    sample.cpuUserSeconds +
    sample.cpuSystemSeconds -
    previous.sample.cpuUserSeconds -
    previous.sample.cpuSystemSeconds;
  return Math.max(0, (used / seconds) * 100);
}
