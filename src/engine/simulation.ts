/**
 * One simulation's state and its ground truth: what it started, what exited and why, its peak, its
 * churn and the chaos that hit it. The engine drives it; this file only keeps the books.
 *
 * Memory stays bounded whatever a client does: the list of planned processes exists only while the
 * simulation runs (a created simulation holds its profile, not 10,000 planned entries), the chaos
 * and crash timelines keep their newest 1,000 entries with a count of all, and the exit log (what a
 * pipeline verification needs to require exited PIDs gone downstream) its newest 10,000 exits.
 */
import { type Demand, profileDemand } from '../profiles/demand.ts';
import { type PlannedProcess, planProcesses, type Shard, shardProfile, WHOLE_RUN } from '../profiles/plan.ts';
import type { Priority, Profile } from '../profiles/schema.ts';
import type { ExitReason } from './events.ts';
import { ExitLog } from './exit-log.ts';
import type { ManagedProcess } from './managed-process.ts';

export type SimulationState =
  | 'created'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'completed'
  | 'failed';

export interface SimulationSpec {
  name: string;
  profile: Profile;
  seed: number;
  durationMs: number | undefined;
  chaos: boolean;
  /** let this simulation's CPU demand exceed the machine @default false */
  allowCpuOvercommit?: boolean;
  /** the slice of a larger run this simulation holds @default the whole run */
  shard?: Shard;
  /** start on its own at this time, epoch ms (a shard waits for the others' common start) */
  startAtMs?: number;
}

export const EXIT_REASONS: readonly ExitReason[] = ['lifetime', 'stopped', 'killed', 'crashed'];

/** Newest entries kept in the chaos and crash timelines. */
export const TIMELINE_LIMIT = 1000;

type ByPriority = Record<Priority, number>;
const zeroByPriority = (): ByPriority => ({ critical: 0, high: 0, medium: 0, low: 0 });

export interface ChaosRecord {
  faultId: string;
  kind: string;
  origin: string;
  atMs: number;
  pids: number[];
  names: string[];
  endedAtMs?: number;
}

export interface CrashRecord {
  pid: number;
  name: string;
  exitCode: number | undefined;
  signal: string | undefined;
  atMs: number;
}

export class Simulation {
  readonly id: string;
  readonly spec: SimulationSpec;
  /** what the whole run asks of the machine (checked at the door) */
  readonly demand: Demand;
  readonly plannedCount: number;
  readonly plannedByPriority: ByPriority;
  readonly createdAtMs = Date.now();
  readonly processes = new Map<number, ManagedProcess>();
  /** timers of the simulation (restarts waiting for their delay, its duration, random chaos): stop clears them */
  readonly timers = new Set<NodeJS.Timeout>();
  /** spawns under way: a stop waits for them so that none lands after it */
  readonly spawning = new Set<Promise<unknown>>();
  state: SimulationState = 'created';
  startedAtMs: number | undefined;
  endedAtMs: number | undefined;
  failureReason: string | undefined;
  /** why the ramp stopped early, if it did */
  rampWarning: string | undefined;
  /** the stop under way, shared by every caller */
  stopping: Promise<Simulation> | undefined;
  /** started minus the time it was asked to start at (spec.startAtMs), ms; late when positive */
  startSkewMs: number | undefined;
  /** the wait for spec.startAtMs */
  startTimer: NodeJS.Timeout | undefined;
  readonly starts = zeroByPriority();
  readonly exits: Record<ExitReason, ByPriority> = {
    lifetime: zeroByPriority(),
    stopped: zeroByPriority(),
    killed: zeroByPriority(),
    crashed: zeroByPriority(),
  };
  readonly crashes: CrashRecord[] = [];
  crashCount = 0;
  /** the newest exits: PIDs, times, and what the sampler saw of each (bounded, see exit-log.ts) */
  readonly exitLog = new ExitLog();
  /** every exit so far by what the sampler saw of it */
  readonly exitSampling = { sampled: 0, neverSampled: 0, finalReadings: 0 };
  readonly chaos: ChaosRecord[] = [];
  chaosCount = 0;
  /** random faults the door refused (they would have exceeded a limit), by reason */
  chaosRefused = 0;
  peakLive = 0;
  readonly peakLiveByPriority = zeroByPriority();
  /** threads and fds of the live processes (reserved minus these = what the ramp will still add) */
  liveThreads = 0;
  liveFds = 0;
  #planned: PlannedProcess[] | undefined;
  readonly #recentStarts = new LastMinute();
  readonly #recentExits = new LastMinute();
  readonly #liveByPriority = zeroByPriority();

  constructor(id: string, spec: SimulationSpec) {
    this.id = id;
    this.spec = spec;
    const held = shardProfile(spec.profile, spec.shard ?? WHOLE_RUN);
    this.demand = profileDemand(held);
    this.plannedCount = this.demand.processes;
    this.plannedByPriority = zeroByPriority();
    for (const template of held.templates) this.plannedByPriority[template.priority] += template.count;
  }

  /** The slice of the run this simulation holds. */
  get shard(): Shard {
    return this.spec.shard ?? WHOLE_RUN;
  }

  get isActive(): boolean {
    return this.state === 'starting' || this.state === 'running';
  }

  /** The processes of the run, planned when it starts and forgotten when it ends. */
  plan(): PlannedProcess[] {
    this.#planned ??= planProcesses(this.spec.profile, this.shard);
    return this.#planned;
  }

  /** The run is over: its plan is no longer needed. */
  end(state: 'stopped' | 'completed' | 'failed'): void {
    this.state = state;
    this.endedAtMs = Date.now();
    this.#planned = undefined;
  }

  recordStart(process: ManagedProcess): void {
    this.processes.set(process.pid, process);
    this.starts[process.priority]++;
    this.#recentStarts.add(Date.now());
    this.peakLive = Math.max(this.peakLive, this.processes.size);
    this.liveThreads += process.template.threads;
    this.liveFds += process.template.fds;
    // Counted as they come and go: recounting every process at each start made a ramp quadratic.
    const live = ++this.#liveByPriority[process.priority];
    this.peakLiveByPriority[process.priority] = Math.max(this.peakLiveByPriority[process.priority], live);
  }

  recordExit(
    process: ManagedProcess,
    reason: ExitReason,
    exitCode: number | undefined,
    signal: string | undefined,
  ): void {
    if (this.processes.delete(process.pid)) {
      this.#liveByPriority[process.priority]--;
      this.liveThreads -= process.template.threads;
      this.liveFds -= process.template.fds;
    }
    this.exits[reason][process.priority]++;
    const now = Date.now();
    this.#recentExits.add(now);
    const { sampling } = process;
    if (sampling.samples > 0) this.exitSampling.sampled++;
    else this.exitSampling.neverSampled++;
    if (sampling.final) this.exitSampling.finalReadings++;
    this.exitLog.add({
      pid: process.pid,
      name: process.name,
      priority: process.priority,
      generation: process.generation,
      startedAtMs: process.startedAtMs,
      exitedAtMs: now,
      reason,
      exitCode,
      signal,
      samples: sampling.samples,
      firstSampledAtMs: sampling.firstAtMs,
      lastSampledAtMs: sampling.lastAtMs,
      finalReading: sampling.final,
    });
    if (reason === 'crashed') {
      this.crashCount++;
      pushBounded(this.crashes, { pid: process.pid, name: process.name, exitCode, signal, atMs: now });
    }
  }

  recordChaos(record: ChaosRecord): void {
    this.chaosCount++;
    pushBounded(this.chaos, record);
  }

  liveByPriority(): ByPriority {
    return { ...this.#liveByPriority };
  }

  /** Exits during the last 60 s. */
  churnPerMinute(): number {
    return this.#recentExits.count(Date.now());
  }

  /** Starts during the last 60 s. */
  startsPerMinute(): number {
    return this.#recentStarts.count(Date.now());
  }
}

function pushBounded<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > TIMELINE_LIMIT) list.splice(0, list.length - TIMELINE_LIMIT);
}

/** Times of the events of the last minute, oldest first (a ring would do; a minute of 100/s is 6,000). */
class LastMinute {
  readonly #times: number[] = [];
  #head = 0;

  add(now: number): void {
    this.#times.push(now);
    this.count(now);
  }

  count(now: number): number {
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) < now - 60_000)
      this.#head++;
    // Compact now and then so the array does not grow with every event ever seen.
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#times.length - this.#head;
  }
}
