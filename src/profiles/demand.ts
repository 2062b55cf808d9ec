/**
 * What a profile asks of the machine, summed over its templates: processes, threads, fds, memory at
 * its peak and CPU on average. Pure: the engine adds these up over everything that runs to refuse a
 * start the machine cannot hold, and `plan` shows them.
 */
import { peakOf } from './patterns.ts';
import type { Pattern, Profile, Template } from './schema.ts';

/**
 * CPU the engine and the kernel spend to start one worker (fork, exec, the worker's set-up), in
 * milliseconds of one core. Measured with `npm run bench` (spawn cost per process) on 2 cores: the
 * engine's share is about 1.5 ms; fork and exec add about the same.
 */
export const SPAWN_CPU_MS = 3;

/** Resident memory a worker holds at least, MiB (the idle worker measures 0.76 MiB). */
export const WORKER_FLOOR_MIB = 1;

export interface Demand {
  processes: number;
  /** tasks (threads) of all processes together */
  threads: number;
  /** open fds of all processes together */
  fds: number;
  /** resident memory at the profile's peak, bytes */
  memoryBytes: number;
  /** average CPU in percent of one core, spawning included */
  cpuPercent: number;
}

export const NO_DEMAND: Demand = { processes: 0, threads: 0, fds: 0, memoryBytes: 0, cpuPercent: 0 };

/**
 * Average of a pattern over a long run (growing: its maximum, where it stays or keeps returning to; a
 * replay: the mean of its values when it repeats, its last value when it holds it).
 */
export function meanOf(pattern: Pattern): number {
  switch (pattern.pattern) {
    case 'steady':
      return pattern.value;
    case 'spiky':
      return pattern.every > 0
        ? pattern.base +
            ((pattern.peak - pattern.base) * Math.min(pattern.for, pattern.every)) / pattern.every
        : pattern.base;
    case 'growing':
      return Math.max(pattern.start, pattern.max);
    case 'random':
      return (pattern.min + pattern.max) / 2;
    case 'replay':
      // Repeated: the mean of the recording; held: the last value, where it stays.
      return pattern.repeat
        ? pattern.values.reduce((sum, value) => sum + value, 0) / Math.max(1, pattern.values.length)
        : (pattern.values.at(-1) ?? 0);
  }
}

/** Share of the time an instance of the template is alive, and how many instances start per second. */
function turnover(template: Template): { alive: number; startsPerSecond: number } {
  if (!template.lifetime || template.restart !== 'always') return { alive: 1, startsPerSecond: 0 };
  const lifeS = (template.lifetime.min + template.lifetime.max) / 2 / 1000;
  const cycleS = lifeS + template.restart_delay / 1000;
  if (cycleS <= 0) return { alive: 1, startsPerSecond: 0 };
  return { alive: lifeS / cycleS, startsPerSecond: template.count / cycleS };
}

/** The demand of one template's processes. */
export function templateDemand(template: Template): Demand {
  const { alive, startsPerSecond } = turnover(template);
  return {
    processes: template.count,
    threads: template.count * template.threads,
    fds: template.count * template.fds,
    memoryBytes: template.count * Math.max(WORKER_FLOOR_MIB, peakOf(template.memory)) * 2 ** 20,
    cpuPercent: template.count * meanOf(template.cpu) * alive + (startsPerSecond * SPAWN_CPU_MS) / 10,
  };
}

/** The demand of a whole profile. */
export function profileDemand(profile: Profile): Demand {
  return profile.templates.map(templateDemand).reduce(addDemand, NO_DEMAND);
}

export function addDemand(a: Demand, b: Demand): Demand {
  return {
    processes: a.processes + b.processes,
    threads: a.threads + b.threads,
    fds: a.fds + b.fds,
    memoryBytes: a.memoryBytes + b.memoryBytes,
    cpuPercent: a.cpuPercent + b.cpuPercent,
  };
}
