/**
 * The door every request passes: a new simulation, a CPU spike or a memory leak is admitted only when
 * it fits, together with everything already running, within the simulator's cap and the machine's
 * limits. Each refusal names the limit, its value and what was asked. Pure: the engine passes in what
 * runs (the ledger) and the machine's limits, read fresh.
 */
import type { Demand } from '../profiles/demand.ts';
import type { Profile } from '../profiles/schema.ts';
import { EngineError } from './errors.ts';
import type { MachineLimits } from './limits.ts';

/** What the running simulations and active faults hold or have reserved. */
export interface Ledger {
  /** processes reserved by active simulations (planned or live, whichever is more) */
  processes: number;
  /** threads and fds active simulations will still add (reserved but not yet spawned) */
  pendingThreads: number;
  pendingFds: number;
  /** memory the active simulations may reach at their peaks, plus every active leak's full growth */
  memoryBytes: number;
  /** memory the simulator's live processes are told to hold now (part of what MemAvailable lacks) */
  heldMemoryBytes: number;
  /** average CPU of the active simulations plus active spikes, percent of one core */
  cpuPercent: number;
}

export interface AdmissionOptions {
  maxProcesses: number;
  /** let CPU demand exceed the machine (the user asked for it) @default false */
  allowCpuOvercommit?: boolean;
}

/** Shares of a machine limit the simulator may plan to use. */
export const HEADROOM = { tasks: 0.9, files: 0.9, memory: 0.8, cpu: 0.9 } as const;

const MiB = 2 ** 20;
const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;
const pct = (value: number) => `${Math.round(value * 10) / 10}%`;

function refuse(limit: string, value: number, requested: number, message: string, field?: string): never {
  throw new EngineError('limit_exceeded', message, {
    limit,
    value: Number.isFinite(value) ? value : null,
    requested,
    ...(field === undefined ? {} : { field }),
  });
}

/**
 * Refuses `demand` (what `what` asks for, e.g. "the simulation" or "the CPU spike") when it does not fit
 * beside `ledger` on `machine`.
 * @param profile when a simulation is admitted: its templates are checked one by one too (fds per process)
 * @throws EngineError limit_exceeded naming the limit, its value and the amount requested
 */
export function admit(
  what: string,
  demand: Demand,
  ledger: Ledger,
  machine: MachineLimits,
  options: AdmissionOptions,
  profile?: Profile,
): void {
  if (demand.processes > 0 && ledger.processes + demand.processes > options.maxProcesses) {
    refuse(
      'MAX_PROCESSES',
      options.maxProcesses,
      demand.processes,
      `${what} asks for ${demand.processes} processes on top of ${ledger.processes} reserved by running simulations; that exceeds MAX_PROCESSES=${options.maxProcesses}`,
    );
  }
  profile?.templates.forEach((template, index) => {
    if (template.count > 0 && template.fds > machine.maxOpenFilesHard) {
      refuse(
        'RLIMIT_NOFILE',
        machine.maxOpenFilesHard,
        template.fds,
        `templates.${index}.fds (${template.name}): ${template.fds} open files per process is above the hard open-file limit of a process (ulimit -Hn) ${machine.maxOpenFilesHard}`,
        `templates.${index}.fds`,
      );
    }
  });
  if (demand.threads > 0) {
    const tasks = machine.tasks + ledger.pendingThreads + demand.threads;
    const checks: Array<[string, number]> = [
      ['pid_max', machine.pidMax],
      ['ulimit -u', machine.maxUserProcesses],
    ];
    for (const [limit, value] of checks) {
      if (tasks > value * HEADROOM.tasks) {
        refuse(
          limit,
          value,
          demand.threads,
          `${what} needs ${demand.threads} tasks (threads) on top of ${machine.tasks} on the machine and ${ledger.pendingThreads} reserved; that exceeds ${HEADROOM.tasks * 100}% of ${limit}=${value}`,
        );
      }
    }
  }
  if (demand.threads > 0 && ledger.pendingThreads + demand.threads > machine.cgroupTasks * HEADROOM.tasks) {
    refuse(
      'pids.max',
      machine.cgroupTasks,
      demand.threads,
      `${what} needs ${demand.threads} tasks (threads) on top of ${ledger.pendingThreads} reserved; its cgroup (pids.max) lets only ${machine.cgroupTasks} more start`,
    );
  }
  if (demand.fds > 0) {
    const files = machine.filesInUse + ledger.pendingFds + demand.fds;
    if (files > machine.fileMax * HEADROOM.files) {
      refuse(
        'fs.file-max',
        machine.fileMax,
        demand.fds,
        `${what} holds ${demand.fds} open files on top of ${machine.filesInUse} open on the system and ${ledger.pendingFds} reserved; that exceeds ${HEADROOM.files * 100}% of fs.file-max=${machine.fileMax}`,
      );
    }
  }
  if (demand.memoryBytes > 0) {
    // In a container the cgroup's limit may be far below the node's MemAvailable: the smaller counts.
    const inCgroup = machine.cgroupMemoryBytes < machine.memAvailableBytes;
    const available = inCgroup ? machine.cgroupMemoryBytes : machine.memAvailableBytes;
    const budget = (available + ledger.heldMemoryBytes) * HEADROOM.memory;
    if (ledger.memoryBytes + demand.memoryBytes > budget) {
      refuse(
        inCgroup ? 'memory.max' : 'MemAvailable',
        available,
        Math.round(demand.memoryBytes),
        `${what} may hold ${mib(demand.memoryBytes)} at its peak on top of ${mib(ledger.memoryBytes)} that running simulations and leaks may reach; only ${HEADROOM.memory * 100}% of ${inCgroup ? `what the cgroup's memory.max leaves (${mib(available)})` : `MemAvailable=${mib(available)}`} plus the ${mib(ledger.heldMemoryBytes)} the simulated processes hold now (${mib(budget)}) may be planned`,
      );
    }
  }
  if (demand.cpuPercent > 0 && !options.allowCpuOvercommit) {
    const budget = machine.cpus * 100 * HEADROOM.cpu;
    if (ledger.cpuPercent + demand.cpuPercent > budget) {
      refuse(
        'CPUs',
        machine.cpus,
        Math.round(demand.cpuPercent * 10) / 10,
        `${what} asks for ${pct(demand.cpuPercent)} of one core on average on top of ${pct(ledger.cpuPercent)} for what runs; ${HEADROOM.cpu * 100}% of ${machine.cpus} CPUs is ${pct(budget)} (ALLOW_CPU_OVERCOMMIT=true, or allow_cpu_overcommit in a request, lets it over-commit)`,
      );
    }
  }
}
