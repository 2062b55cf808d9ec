/**
 * What the machine can hold, read fresh at each check (MemAvailable and the task count change all the
 * time): a request that cannot fit is refused up front, naming the limit and its value, instead of
 * being half-spawned.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface MachineLimits {
  /** kernel.pid_max */
  pidMax: number;
  /** RLIMIT_NPROC soft limit (`ulimit -u`), Infinity when unlimited */
  maxUserProcesses: number;
  /** MemAvailable in bytes */
  memAvailableBytes: number;
  /** RLIMIT_NOFILE soft limit of the engine */
  maxOpenFiles: number;
  /** RLIMIT_NOFILE hard limit: the most fds one worker can hold (it raises its soft limit up to it) */
  maxOpenFilesHard: number;
  /** fs.file-max: open files of the whole system */
  fileMax: number;
  /** file handles allocated on the system now (first field of fs.file-nr) */
  filesInUse: number;
  /** CPUs this process may use: affinity, and the cgroup's CPU quota when there is one */
  cpus: number;
  /** tasks (threads included) on the whole machine now; RLIMIT_NPROC counts threads */
  tasks: number;
  /** memory the cgroup may still take before its limit (Infinity without one) */
  cgroupMemoryBytes: number;
  /** tasks the cgroup may still start before pids.max (Infinity without one) */
  cgroupTasks: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(path: string, fallback: number): number {
  const value = Number(readText(path)?.trim().split(/\s+/)[0]);
  return Number.isFinite(value) ? value : fallback;
}

function readLimit(name: string, column: 'soft' | 'hard'): number {
  const line = readText('/proc/self/limits')
    ?.split('\n')
    .find((row) => row.startsWith(name));
  const fields = line?.slice(name.length).trim().split(/\s+/);
  const value = fields?.[column === 'soft' ? 0 : 1];
  if (value === undefined || value === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(value);
}

/**
 * The smallest value `read` gives for this process's cgroup and each of its ancestors, for cgroup v2
 * (`unified`) and v1 (`v1`, the hierarchy of `controller`); Infinity where nothing limits. Limits are
 * set at any level (a pod's, a node's), so the whole path up to the root counts.
 */
function cgroupMin(
  controller: string,
  read: { unified: (dir: string) => number; v1: (dir: string) => number },
  root: string,
): number {
  const lines = readText('/proc/self/cgroup')?.split('\n') ?? [];
  let least = Number.POSITIVE_INFINITY;
  const walk = (start: string, at: (dir: string) => number) => {
    for (let dir = start.replace(/\/$/, ''); ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
      least = Math.min(least, at(dir));
      if (dir === '') break;
    }
  };
  const unified = lines.find((line) => line.startsWith('0::'))?.slice(3);
  if (unified !== undefined) walk(unified, (dir) => read.unified(`${root}${dir}`));
  const v1 = lines
    .find((line) => new RegExp(`^\\d+:[^:]*\\b${controller}\\b[^:]*:`).test(line))
    ?.replace(/^\d+:[^:]*:/, '');
  if (v1 !== undefined) walk(v1, (dir) => read.v1(`${root}/${controller}${dir}`));
  return least;
}

/** A cgroup limit file: "max" (v2) or a v1 "no limit" of about 2^63 mean Infinity. */
function limitValue(path: string): number {
  const text = readText(path)?.trim();
  if (text === undefined || text === 'max') return Number.POSITIVE_INFINITY;
  const value = Number(text);
  return Number.isFinite(value) && value < 2 ** 62 ? value : Number.POSITIVE_INFINITY;
}

/** The CPU quota of this process's cgroup in CPUs (v2 cpu.max, v1 cfs quota); Infinity without one. */
export function cgroupCpuQuota(root = '/sys/fs/cgroup'): number {
  return cgroupMin(
    'cpu',
    {
      unified: (dir) => {
        const [max, period] = (readText(`${dir}/cpu.max`) ?? 'max').trim().split(/\s+/);
        return max === 'max' || !period ? Number.POSITIVE_INFINITY : Number(max) / Number(period);
      },
      v1: (dir) => {
        const quota = readNumber(`${dir}/cpu.cfs_quota_us`, -1);
        const period = readNumber(`${dir}/cpu.cfs_period_us`, 100_000);
        return quota > 0 && period > 0 ? quota / period : Number.POSITIVE_INFINITY;
      },
    },
    root,
  );
}

/**
 * Memory this cgroup may still take before its limit (a pod's memory limit: beyond it the kernel's OOM
 * killer ends processes, MemAvailable does not see it): the least of limit - usage up the path; Infinity
 * without a limit.
 */
export function cgroupMemoryHeadroom(root = '/sys/fs/cgroup'): number {
  const headroom = (limit: number, usage: string) =>
    Number.isFinite(limit) ? Math.max(0, limit - readNumber(usage, 0)) : Number.POSITIVE_INFINITY;
  return cgroupMin(
    'memory',
    {
      unified: (dir) => headroom(limitValue(`${dir}/memory.max`), `${dir}/memory.current`),
      v1: (dir) => headroom(limitValue(`${dir}/memory.limit_in_bytes`), `${dir}/memory.usage_in_bytes`),
    },
    root,
  );
}

/** Tasks this cgroup may still start before pids.max (a pod's pids limit: EAGAIN beyond it); Infinity without one. */
export function cgroupTasksHeadroom(root = '/sys/fs/cgroup'): number {
  const headroom = (dir: string) => {
    const limit = limitValue(`${dir}/pids.max`);
    return Number.isFinite(limit)
      ? Math.max(0, limit - readNumber(`${dir}/pids.current`, 0))
      : Number.POSITIVE_INFINITY;
  };
  return cgroupMin('pids', { unified: headroom, v1: headroom }, root);
}

/** Reads the limits from /proc now. */
export function readMachineLimits(): MachineLimits {
  const memAvailable = /^MemAvailable:\s+(\d+) kB/m.exec(readText('/proc/meminfo') ?? '');
  const fileNr = (readText('/proc/sys/fs/file-nr') ?? '').trim().split(/\s+/);
  return {
    pidMax: readNumber('/proc/sys/kernel/pid_max', 32_768),
    maxUserProcesses: readLimit('Max processes', 'soft'),
    memAvailableBytes: memAvailable ? Number(memAvailable[1]) * 1024 : Number.POSITIVE_INFINITY,
    maxOpenFiles: readLimit('Max open files', 'soft'),
    maxOpenFilesHard: readLimit('Max open files', 'hard'),
    fileMax: readNumber('/proc/sys/fs/file-max', Number.POSITIVE_INFINITY),
    filesInUse: Number(fileNr[0]) || 0,
    cpus: Math.max(0.01, Math.min(availableParallelism(), cgroupCpuQuota())),
    tasks: machineTaskCount(),
    cgroupMemoryBytes: cgroupMemoryHeadroom(),
    cgroupTasks: cgroupTasksHeadroom(),
  };
}

/** Tasks (threads included) on the whole machine now, from /proc/loadavg. */
export function machineTaskCount(): number {
  return Number(readText('/proc/loadavg')?.split(' ')[3]?.split('/')[1] ?? 0) || 0;
}
