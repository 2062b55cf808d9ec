/**
 * What a process should hold at a moment of its life, from its template's patterns: the values the
 * engine writes into its control slot (faults come on top, see faults.ts).
 */
import { valueAt } from '../profiles/patterns.ts';
import type { Template } from '../profiles/schema.ts';
import type { SlotTargets } from '../workload/control-table.ts';

/** Targets of a process of `template` `elapsedMs` after it started (seeded by `seedKey`). */
export function targetsAt(template: Template, seedKey: string, elapsedMs: number): SlotTargets {
  const cpuPercent = valueAt(template.cpu, elapsedMs, `${seedKey}/cpu`);
  const memoryMiB = valueAt(template.memory, elapsedMs, `${seedKey}/memory`);
  return {
    cpuPermille: Math.min(1000, Math.max(0, Math.round(cpuPercent * 10))),
    rssKiB: Math.max(0, Math.round(memoryMiB * 1024)),
    threads: template.threads,
    fds: template.fds,
  };
}
