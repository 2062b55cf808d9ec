/** The engine's view of a process in the sampler tests: a live `sleep` of a fixture simulation. */
import type { ProcessInfo } from '../../src/engine/managed-process.ts';

export function sleepInfo(pid: number): ProcessInfo {
  return {
    pid,
    name: 'sleep',
    simulationId: 'sim',
    profile: 'fixture',
    shard: undefined,
    priority: 'low',
    cpuPattern: 'steady',
    memoryPattern: 'steady',
    startedAtMs: 0,
    generation: 0,
    targets: { cpuPermille: 0, rssKiB: 0, threads: 1, fds: 3 },
  };
}
