/**
 * One simulation's state and its ground truth: what it started, what exited and why, its peak, its
 * churn and the chaos that hit it. The engine drives it; this file only keeps the books.
 */
import { type PlannedProcess, planProcesses } from '../profiles/plan.ts';
import type { Priority, Profile } from '../profiles/schema.ts';
import type { ExitReason } from './events.ts';
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
}

export const EXIT_REASONS: readonly ExitReason[] = ['lifetime', 'stopped', 'killed', 'crashed'];

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

export class Simulation {
  readonly id: string;
  readonly spec: SimulationSpec;
  readonly planned: PlannedProcess[];
  readonly createdAtMs = Date.now();
  readonly processes = new Map<number, ManagedProcess>();
  /** respawns waiting for their restart delay, so stop can cancel them */
  readonly pendingRestarts = new Set<NodeJS.Timeout>();
  state: SimulationState = 'created';
  startedAtMs: number | undefined;
  endedAtMs: number | undefined;
  failureReason: string | undefined;
  /** why the ramp stopped early, if it did */
  rampWarning: string | undefined;
  readonly starts = zeroByPriority();
  readonly exits: Record<ExitReason, ByPriority> = {
    lifetime: zeroByPriority(),
    stopped: zeroByPriority(),
    killed: zeroByPriority(),
    crashed: zeroByPriority(),
  };
  readonly crashes: Array<{
    pid: number;
    name: string;
    exitCode: number | undefined;
    signal: string | undefined;
    atMs: number;
  }> = [];
  readonly chaos: ChaosRecord[] = [];
  peakLive = 0;
  readonly peakLiveByPriority = zeroByPriority();
  readonly #recentStarts = new LastMinute();
  readonly #recentExits = new LastMinute();
  readonly #liveByPriority = zeroByPriority();

  constructor(id: string, spec: SimulationSpec) {
    this.id = id;
    this.spec = spec;
    this.planned = planProcesses(spec.profile);
  }

  get isActive(): boolean {
    return this.state === 'starting' || this.state === 'running';
  }

  recordStart(process: ManagedProcess): void {
    this.processes.set(process.pid, process);
    this.starts[process.priority]++;
    this.#recentStarts.add(Date.now());
    this.peakLive = Math.max(this.peakLive, this.processes.size);
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
    if (this.processes.delete(process.pid)) this.#liveByPriority[process.priority]--;
    this.exits[reason][process.priority]++;
    const now = Date.now();
    this.#recentExits.add(now);
    if (reason === 'crashed') {
      this.crashes.push({ pid: process.pid, name: process.name, exitCode, signal, atMs: now });
      if (this.crashes.length > 1000) this.crashes.shift();
    }
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

/** Times of the events of the last minute, oldest first. */
class LastMinute {
  readonly #times: number[] = [];

  add(now: number): void {
    this.#times.push(now);
    this.count(now);
  }

  count(now: number): number {
    while (this.#times.length > 0 && (this.#times[0] as number) < now - 60_000) this.#times.shift();
    return this.#times.length;
  }
}
