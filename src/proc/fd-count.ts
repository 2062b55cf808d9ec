/**
 * Counting a process's open file descriptors, the entries of /proc/PID/fd. Since Linux 6.2 a stat() of that
 * directory reports the count as its size, which spares listing and allocating one string per descriptor.
 * Elsewhere (older kernels, fixture trees on a disk, where a directory's size is in bytes) it is listed.
 */
import { readdirSync, statfsSync, statSync } from 'node:fs';

const PROC_SUPER_MAGIC = 0x9fa0;

/** Returns the number of entries of a /proc/PID/fd directory; throws as fs does (ENOENT when gone). */
export type FdCounter = (fdDir: string) => number;

/** Picks the cheapest exact way to count descriptors under `root`, checked once on our own fd directory. */
export function createFdCounter(root: string): FdCounter {
  return sizeCountsFds(root) ? (fdDir) => statSync(fdDir).size : (fdDir) => readdirSync(fdDir).length;
}

function sizeCountsFds(root: string): boolean {
  try {
    if (statfsSync(root).type !== PROC_SUPER_MAGIC) return false;
    // Node itself always holds descriptors, so only a kernel without the count shows 0 here.
    return statSync(`${root}/self/fd`).size > 0;
  } catch {
    return false;
  }
}
