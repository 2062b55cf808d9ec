/**
 * What a verifier can learn about a PID from its own /proc: whether it shares the simulator's kernel
 * (boot id) and PID namespace, and, for a process seen from an outer namespace, its PID in the
 * innermost one (status NSpid) and its start in clock ticks since boot (stat starttime, the same in
 * every namespace). A collector in another PID namespace reports PIDs that differ from the
 * simulator's; these reads map them back.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { parseStat } from '../proc/parse.ts';

/** The reads a PID matcher makes; the real one reads /proc, tests may read a fixture tree. */
export interface HostView {
  /** this kernel's boot id, or null when unreadable */
  bootId(): string | null;
  /** the PID namespace of `pid` ('self' for the caller), e.g. pid:[4026531836]; null when unreadable */
  pidNamespace(pid: number | 'self'): string | null;
  /** status NSpid of `pid`: its PID in the reader's namespace first, the innermost last; null if gone */
  nspid(pid: number): number[] | null;
  /** stat starttime of `pid` in clock ticks since boot; null if gone */
  startTicks(pid: number): number | null;
}

const readOrNull = <T>(read: () => T): T | null => {
  try {
    return read();
  } catch {
    // gone, not ours to read (no ptrace right), or not Linux: the caller falls back to other evidence
    return null;
  }
};

/** The NSpid line of a /proc/PID/status text: PIDs from the outermost visible namespace inwards. */
export function parseNspid(status: string): number[] | null {
  const match = /^NSpid:\s*([\d \t]+)$/m.exec(status);
  if (!match) return null;
  const pids = (match[1] as string).trim().split(/\s+/).map(Number);
  return pids.every((pid) => Number.isSafeInteger(pid) && pid > 0) ? pids : null;
}

/** The real /proc under `root` @default '/proc' */
export function procHostView(root = '/proc'): HostView {
  const path = (pid: number | 'self', file: string) => {
    if (pid !== 'self' && (!Number.isSafeInteger(pid) || pid <= 0))
      throw new TypeError(`pid must be a positive integer, got ${String(pid)}`);
    return `${root}/${pid}/${file}`;
  };
  return {
    bootId: () => readOrNull(() => readFileSync(`${root}/sys/kernel/random/boot_id`, 'utf8').trim()),
    pidNamespace: (pid) => readOrNull(() => readlinkSync(path(pid, 'ns/pid'))),
    nspid: (pid) => readOrNull(() => parseNspid(readFileSync(path(pid, 'status'), 'utf8'))),
    startTicks: (pid) => readOrNull(() => parseStat(readFileSync(path(pid, 'stat'), 'utf8')).starttimeTicks),
  };
}
