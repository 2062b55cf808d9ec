/**
 * What everything that runs holds or has reserved, the other side of each admission (admission.ts):
 * the active simulations' reservations, the active faults', and what the live processes hold now.
 */
import { WORKER_FLOOR_MIB } from '../profiles/demand.ts';
import type { Ledger } from './admission.ts';
import type { FaultSet } from './faults.ts';
import type { ManagedProcess } from './managed-process.ts';
import type { Simulation } from './simulation.ts';

export function ledgerOf(
  simulations: Iterable<Simulation>,
  processes: Iterable<ManagedProcess>,
  faults: FaultSet,
): Ledger {
  const ledger: Ledger = {
    processes: 0,
    pendingThreads: 0,
    pendingFds: 0,
    memoryBytes: faults.reservedLeakBytes(),
    heldMemoryBytes: 0,
    cpuPercent: faults.reservedSpikePercent(),
  };
  for (const simulation of simulations) {
    // A stopping simulation still holds its processes until they are reaped.
    if (!simulation.isActive && simulation.state !== 'stopping') continue;
    const { demand } = simulation;
    ledger.processes += Math.max(demand.processes, simulation.processes.size);
    ledger.pendingThreads += Math.max(0, demand.threads - simulation.liveThreads);
    ledger.pendingFds += Math.max(0, demand.fds - simulation.liveFds);
    ledger.memoryBytes += demand.memoryBytes;
    ledger.cpuPercent += demand.cpuPercent;
  }
  for (const process of processes) {
    ledger.heldMemoryBytes += Math.max(WORKER_FLOOR_MIB * 1024, process.targets.rssKiB) * 1024;
  }
  return ledger;
}
