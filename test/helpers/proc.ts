/**
 * Direct /proc reads for assertions, independent of the code under test (so a bug in the simulator's
 * reader cannot hide a bug in what it reports).
 */

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const PAGE_SIZE = 4096;
export const CLOCK_TICKS = 100;

/** undefined when gone or a zombie */
export function procStatus(pid: number): Record<string, string> | undefined {
  try {
    const fields: Record<string, string> = {};
    for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trim();
    }
    if (fields.State?.startsWith('Z') || fields.State?.startsWith('X')) return undefined;
    return fields;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  return procStatus(pid) !== undefined;
}

export function rssBytes(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_SIZE;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** utime + stime in seconds */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Seconds the process's main thread has spent on a CPU and waiting on a run queue for one
 * (/proc/PID/schedstat, nanoseconds, kept by the scheduler at every switch). The wait is CPU the thread
 * wanted and did not get: what a busy machine took from it.
 */
export function schedstat(pid: number): { runS: number; waitS: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { runS: (run as number) / 1e9, waitS: (wait as number) / 1e9 };
}

export function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** What `ps -o comm=` prints for the PID. */
export function psComm(pid: number): string {
  return execFileSync('ps', ['-o', 'comm=', '-p', String(pid)], { encoding: 'utf8' }).trim();
}

/**
 * The simulated processes of the engine whose PID is `enginePid`, not zombies: the children of its
 * launcher (`ps-launcher`, the engine's child), or the engine's own children where it has no launcher.
 */
export function workersOf(enginePid: number): number[] {
  const own = childrenOf(enginePid);
  const launchers = own.filter((pid) => procStatus(pid)?.Name === 'ps-launcher');
  if (launchers.length === 0) return own;
  return [...own.filter((pid) => !launchers.includes(pid)), ...launchers.flatMap((pid) => childrenOf(pid))];
}

/** The engine's launcher, when it has one running. */
export function launcherOf(enginePid: number): number | undefined {
  return childrenOf(enginePid).find((pid) => procStatus(pid)?.Name === 'ps-launcher');
}

/** PIDs whose parent is `ppid` and that are not zombies. */
export function childrenOf(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = procStatus(Number(entry));
    if (status && Number(status.PPid) === ppid) children.push(Number(entry));
  }
  return children;
}
