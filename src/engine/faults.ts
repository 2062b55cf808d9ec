/**
 * Active faults (chaos) and what they change in a process's targets. A CPU spike raises the CPU target
 * to at least its intensity; a memory leak adds memory at a rate since the fault started. Both end at
 * their deadline, when recovered, or when none of their processes is left. Kills are immediate and need
 * no state here.
 *
 * Ending a fault is idempotent (`remove` of an ended fault returns undefined): a fault may reach its
 * deadline in the same control tick in which a request recovers it or its simulation stops, and two
 * faults may end in one tick; none of these may throw.
 */
import type { SlotTargets } from '../workload/control-table.ts';

export type FaultKind = 'cpu-spike' | 'memory-leak' | 'process-kill';

export interface Fault {
  readonly id: string;
  readonly kind: FaultKind;
  readonly simulationId: string | undefined;
  readonly pids: ReadonlySet<number>;
  readonly startedAtMs: number;
  readonly endsAtMs: number;
  /** cpu-spike: CPU percent of one core */
  readonly intensityPercent?: number;
  /** memory-leak: bytes per second */
  readonly leakBytesPerSecond?: number;
  /** process-kill: the signal sent */
  readonly signal?: string;
  readonly origin: 'api' | 'random';
}

export class FaultSet {
  readonly #active = new Map<string, Fault>();

  add(fault: Fault): void {
    this.#active.set(fault.id, fault);
  }

  /** Removes the fault; undefined when it was not active (already ended). */
  remove(id: string): Fault | undefined {
    const fault = this.#active.get(id);
    this.#active.delete(id);
    return fault;
  }

  get(id: string): Fault | undefined {
    return this.#active.get(id);
  }

  list(): Fault[] {
    return [...this.#active.values()];
  }

  get size(): number {
    return this.#active.size;
  }

  /** Faults whose deadline has passed at `nowMs` (the caller ends them). */
  expired(nowMs: number): Fault[] {
    return this.list().filter((fault) => fault.endsAtMs <= nowMs);
  }

  /** Faults none of whose processes is alive any more (the caller ends them). */
  orphaned(isAlive: (pid: number) => boolean): Fault[] {
    return this.list().filter((fault) => ![...fault.pids].some(isAlive));
  }

  /** Memory that active leaks may add by their deadlines, bytes (what admission reserves for them). */
  reservedLeakBytes(): number {
    let bytes = 0;
    for (const fault of this.#active.values()) {
      if (fault.kind !== 'memory-leak') continue;
      bytes +=
        ((fault.leakBytesPerSecond ?? 0) * (fault.endsAtMs - fault.startedAtMs) * fault.pids.size) / 1000;
    }
    return bytes;
  }

  /** CPU that active spikes ask for, percent of one core (what admission reserves for them). */
  reservedSpikePercent(): number {
    let percent = 0;
    for (const fault of this.#active.values()) {
      if (fault.kind === 'cpu-spike') percent += (fault.intensityPercent ?? 0) * fault.pids.size;
    }
    return percent;
  }

  /** Applies every active fault of process `pid` to `targets`, in place, and returns them. */
  apply(pid: number, targets: SlotTargets, nowMs: number): SlotTargets {
    if (this.#active.size === 0) return targets;
    let { cpuPermille, rssKiB } = targets;
    for (const fault of this.#active.values()) {
      if (!fault.pids.has(pid)) continue;
      if (fault.kind === 'cpu-spike' && fault.intensityPercent !== undefined) {
        cpuPermille = Math.max(cpuPermille, Math.round(fault.intensityPercent * 10));
      } else if (fault.kind === 'memory-leak' && fault.leakBytesPerSecond !== undefined) {
        const elapsedMs = Math.min(nowMs, fault.endsAtMs) - fault.startedAtMs;
        rssKiB += Math.round((fault.leakBytesPerSecond * Math.max(0, elapsedMs)) / 1000 / 1024);
      }
    }
    targets.cpuPermille = Math.min(1000, cpuPermille);
    targets.rssKiB = rssKiB;
    return targets;
  }
}
