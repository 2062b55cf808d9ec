/**
 * The engine's once-a-second pass: faults that ended, lifetimes past their deadline (a backstop to
 * their own timers), and the targets of every process whose pattern or faults can change them, written
 * to its slot only when they changed. It never throws (a failure is reported and the next tick tries
 * again) and never runs inside itself.
 */
import type { SlotTargets } from '../workload/control-table.ts';
import type { FaultBook } from './fault-book.ts';
import type { ManagedProcess } from './managed-process.ts';
import type { ProcessRegistry } from './processes.ts';
import { targetsAt } from './targets.ts';

export class ControlLoop {
  readonly #processes: ProcessRegistry;
  readonly #faults: FaultBook;
  readonly #warn: (message: string, fields: Record<string, unknown>) => void;
  /** the time between two ticks: targets are held for it (a replay holds its mean over it) */
  readonly #intervalMs: number;
  #ticking = false;

  constructor(deps: {
    processes: ProcessRegistry;
    faults: FaultBook;
    warn: (message: string, fields: Record<string, unknown>) => void;
    intervalMs: number;
  }) {
    this.#processes = deps.processes;
    this.#intervalMs = deps.intervalMs;
    this.#faults = deps.faults;
    this.#warn = deps.warn;
  }

  /** the targets being worked out, one object for every process and tick (retarget copies changed ones) */
  readonly #scratch: SlotTargets = { cpuPermille: 0, rssKiB: 0, threads: 1, fds: 3 };

  /** Writes the current targets of `processes` (pattern plus active faults); never throws. */
  retarget(processes: Iterable<ManagedProcess>, nowMs: number): void {
    for (const process of processes) if (!process.stopReason) this.#retargetOne(process, nowMs);
  }

  #visit(process: ManagedProcess, nowMs: number): void {
    if (process.stopReason) return;
    if (process.deadlineMs !== undefined && nowMs >= process.deadlineMs) {
      this.#processes.terminate(process, 'lifetime');
      return;
    }
    this.#processes.wakeIfPending(process, nowMs);
    this.#retargetOne(process, nowMs);
  }

  #retargetOne(process: ManagedProcess, nowMs: number): void {
    try {
      const targets = targetsAt(
        process.template,
        process.patternSeeds,
        nowMs - process.startedAtMs,
        this.#intervalMs,
        this.#scratch,
      );
      this.#faults.active.apply(process.pid, targets, nowMs);
      this.#processes.retarget(process, targets, nowMs);
    } catch (error) {
      this.#warn('cannot set the targets of a process', {
        pid: process.pid,
        name: process.name,
        error: (error as Error)?.message ?? String(error),
      });
    }
  }

  /**
   * Visits the processes whose targets can have changed since the last tick: those whose patterns move
   * with time or that have a lifetime, those of active faults and of faults that just ended (back to
   * their pattern), and those still waiting for a wake. A steady process without a fault holds the
   * targets it was spawned with, so it is not read at all.
   */
  tick(nowMs = Date.now()): void {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const ended = this.#faults.endDue(nowMs);
      // Each process in turn, with no list of the due ones: at 10,000 processes and a few ticks a
      // second, that list was most of what the engine allocated between two samples.
      for (const process of this.#processes.timed()) this.#visit(process, nowMs);
      if (ended.length > 0 || this.#faults.active.size > 0)
        for (const fault of [...ended, ...this.#faults.active.list()])
          for (const pid of fault.pids) {
            const process = this.#processes.get(pid);
            if (process && !this.#processes.isTimed(process)) this.#visit(process, nowMs);
          }
      for (const process of this.#processes.unwoken()) this.#processes.wakeIfPending(process, nowMs);
    } catch (error) {
      this.#warn('the control tick failed', { error: (error as Error)?.stack ?? String(error) });
    } finally {
      this.#ticking = false;
    }
  }
}
