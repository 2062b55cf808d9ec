/**
 * What the machine can hold: checked before a run starts, so a request that cannot fit is refused up
 * front with the limit's name and value instead of being half-spawned.
 */
import { readFileSync } from 'node:fs';

export interface MachineLimits {
  /** kernel.pid_max */
  pidMax: number;
  /** RLIMIT_NPROC soft limit (`ulimit -u`), Infinity when unlimited */
  maxUserProcesses: number;
  /** MemAvailable in bytes */
  memAvailableBytes: number;
  /** RLIMIT_NOFILE soft limit of the engine */
  maxOpenFiles: number;
}

function readNumber(path: string, fallback: number): number {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : fallback;
  } catch {
    return fallback;
  }
}

function readLimit(name: string): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((row) => row.startsWith(name));
    const soft = line?.slice(name.length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === 'unlimited') return Number.POSITIVE_INFINITY;
    return Number(soft);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Reads the limits from /proc now (MemAvailable changes all the time). */
export function readMachineLimits(): MachineLimits {
  let memAvailableBytes = Number.POSITIVE_INFINITY;
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (match) memAvailableBytes = Number(match[1]) * 1024;
  } catch {
    // not Linux-like: leave unlimited, the spawn itself will fail with a clear error
  }
  return {
    pidMax: readNumber('/proc/sys/kernel/pid_max', 32_768),
    maxUserProcesses: readLimit('Max processes'),
    memAvailableBytes,
    maxOpenFiles: readLimit('Max open files'),
  };
}

/** Tasks (threads included) on the whole machine now, from /proc/loadavg; RLIMIT_NPROC counts threads. */
export function machineTaskCount(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[1] ?? 0);
  } catch {
    return 0;
  }
}
