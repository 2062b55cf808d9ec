/**
 * Active faults (chaos) and what they change in a process's targets. A CPU spike raises the CPU target
 * to at least its intensity; a memory leak adds memory at a rate since the fault started. Both end at
 * their deadline or when recovered. Kills are immediate and need no state here.
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

  /** Faults whose deadline has passed at `nowMs` (the caller removes them and reports the end). */
  expired(nowMs: number): Fault[] {
    return this.list().filter((fault) => fault.endsAtMs <= nowMs);
  }

  /** `targets` of process `pid` with every active fault applied. */
  apply(pid: number, targets: SlotTargets, nowMs: number): SlotTargets {
    let { cpuPermille, rssKiB } = targets;
    for (const fault of this.#active.values()) {
      if (!fault.pids.has(pid)) continue;
      if (fault.kind === 'cpu-spike' && fault.intensityPercent !== undefined) {
        cpuPermille = Math.max(cpuPermille, Math.round(fault.intensityPercent * 10));
      } else if (fault.kind === 'memory-leak' && fault.leakBytesPerSecond !== undefined) {
        const leakedKiB = (fault.leakBytesPerSecond * Math.max(0, nowMs - fault.startedAtMs)) / 1000 / 1024;
        rssKiB += Math.round(leakedKiB);
      }
    }
    return { ...targets, cpuPermille: Math.min(1000, cpuPermille), rssKiB };
  }
}
