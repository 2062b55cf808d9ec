/**
 * What a process should hold at a moment of its life, from its template's patterns: the values the
 * engine writes into its control slot (faults come on top, see faults.ts).
 */
import { heldValue } from '../profiles/patterns.ts';
import type { Template } from '../profiles/schema.ts';
import type { SlotTargets } from '../workload/control-table.ts';

/** The seed keys of a process's CPU and memory patterns, built once per process, not at every tick. */
export interface PatternSeeds {
  readonly cpu: string;
  readonly memory: string;
}

export function patternSeeds(seedKey: string): PatternSeeds {
  return { cpu: `${seedKey}/cpu`, memory: `${seedKey}/memory` };
}

/**
 * Targets of a process of `template` `elapsedMs` after it started, held until the next retarget
 * `spanMs` later (see heldValue), written into `into` (the control loop passes one object for every
 * process and tick, and keeps a copy only when the targets changed).
 */
export function targetsAt(
  template: Template,
  seeds: PatternSeeds,
  elapsedMs: number,
  spanMs: number,
  into: SlotTargets = { cpuPermille: 0, rssKiB: 0, threads: 1, fds: 3 },
): SlotTargets {
  const cpuPercent = heldValue(template.cpu, elapsedMs, spanMs, seeds.cpu);
  const memoryMiB = heldValue(template.memory, elapsedMs, spanMs, seeds.memory);
  into.cpuPermille = Math.min(1000, Math.max(0, Math.round(cpuPercent * 10)));
  into.rssKiB = Math.max(0, Math.round(memoryMiB * 1024));
  into.threads = template.threads;
  into.fds = template.fds;
  return into;
}
