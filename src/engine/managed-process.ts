import type { PlannedProcess } from '../profiles/plan.ts';
import type { Priority, Template } from '../profiles/schema.ts';
import type { SlotTargets } from '../workload/control-table.ts';
import type { ExitReason } from './events.ts';
import type { SpawnedChild } from './spawner.ts';
import type { PatternSeeds } from './targets.ts';

/** One live simulated process as the engine tracks it. */
export interface ManagedProcess {
  readonly pid: number;
  readonly name: string;
  readonly simulationId: string;
  readonly profile: string;
  /** index of the shard of a sharded run; undefined when the run is not sharded */
  readonly shard: number | undefined;
  readonly planned: PlannedProcess;
  readonly template: Template;
  readonly priority: Priority;
  readonly generation: number;
  /** seeds this generation's pattern phases and lifetime */
  readonly seedKey: string;
  /** the seed keys of its patterns, from seedKey */
  readonly patternSeeds: PatternSeeds;
  readonly slot: number;
  /** the file exec'd: the link named after the process (native worker) or Node (fallback) */
  readonly executable: string;
  /**
   * arguments exec'd between argv[0] and the template's (the fallback worker's script); argv itself is
   * not kept: a padded command line may be 1 MiB per process
   */
  readonly argvPrefix: readonly string[];
  readonly startedAtMs: number;
  /** when the engine ends it (template lifetime); undefined = runs until stopped */
  readonly deadlineMs: number | undefined;
  readonly child: SpawnedChild;
  /** set once the engine decided to end it; decides the recorded exit reason */
  stopReason: ExitReason | undefined;
  /** last targets written to its control slot */
  targets: SlotTargets;
  /** its slot changed before it could take SIGUSR1 (younger than 100 ms): wake it at the next tick */
  pendingWake?: boolean;
  /** what the sampler read of it: the ground truth of whether an observer of /metrics could see it */
  sampling: SamplingRecord;
  /** its last ProcessInfo, kept while its targets are the same object (toProcessInfo) */
  info?: ProcessInfo;
}

/** How often, and when, the sampler read a process. */
export interface SamplingRecord {
  /** readings of it (samples, its first reading, the final one) */
  samples: number;
  firstAtMs: number | undefined;
  lastAtMs: number | undefined;
  /** read right before the engine ended it (never for a crash) */
  final: boolean;
}

/** What the sampler and the API may know about a live process (no handles, no mutability). */
export interface ProcessInfo {
  readonly pid: number;
  readonly name: string;
  readonly simulationId: string;
  readonly profile: string;
  /** index of the shard of a sharded run; undefined when the run is not sharded */
  readonly shard: number | undefined;
  readonly priority: Priority;
  readonly cpuPattern: string;
  readonly memoryPattern: string;
  readonly startedAtMs: number;
  readonly generation: number;
  /** what the process is currently told to hold */
  readonly targets: Readonly<SlotTargets>;
}

/**
 * What the sampler and the API may know of `process`. Built again only when its targets changed (a new
 * object, ProcessRegistry.retarget): the sampler asks for every process at every pass, and an object per
 * process and pass lived a whole interval, so it reached the old generation.
 */
export function toProcessInfo(process: ManagedProcess): ProcessInfo {
  if (process.info !== undefined && process.info.targets === process.targets) return process.info;
  process.info = {
    pid: process.pid,
    name: process.name,
    simulationId: process.simulationId,
    profile: process.profile,
    shard: process.shard,
    priority: process.priority,
    cpuPattern: process.template.cpu.pattern,
    memoryPattern: process.template.memory.pattern,
    startedAtMs: process.startedAtMs,
    generation: process.generation,
    targets: process.targets,
  };
  return process.info;
}
