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
 * The CPU quota of this process's cgroup in CPUs (cgroup v2 cpu.max or v1 cfs quota), the smallest on
 * the way up to the root; Infinity without a quota.
 */
export function cgroupCpuQuota(root = '/sys/fs/cgroup'): number {
  const lines = readText('/proc/self/cgroup')?.split('\n') ?? [];
  let quota = Number.POSITIVE_INFINITY;
  const unified = lines.find((line) => line.startsWith('0::'))?.slice(3);
  const v1 = lines.find((line) => /^\d+:[^:]*\bcpu\b[^:]*:/.test(line))?.replace(/^\d+:[^:]*:/, '');
  const walk = (start: string, read: (dir: string) => number) => {
    for (let dir = start; ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
      quota = Math.min(quota, read(dir));
      if (dir === '' || dir === '/') break;
    }
  };
  if (unified !== undefined) {
    walk(unified.replace(/\/$/, ''), (dir) => {
      const [max, period] = (readText(`${root}${dir}/cpu.max`) ?? 'max').trim().split(/\s+/);
      return max === 'max' || !period ? Number.POSITIVE_INFINITY : Number(max) / Number(period);
    });
  }
  if (v1 !== undefined) {
    walk(v1.replace(/\/$/, ''), (dir) => {
      const q = readNumber(`${root}/cpu${dir}/cpu.cfs_quota_us`, -1);
      const period = readNumber(`${root}/cpu${dir}/cpu.cfs_period_us`, 100_000);
      return q > 0 && period > 0 ? q / period : Number.POSITIVE_INFINITY;
    });
  }
  return quota;
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
  };
}

/** Tasks (threads included) on the whole machine now, from /proc/loadavg. */
export function machineTaskCount(): number {
  return Number(readText('/proc/loadavg')?.split(' ')[3]?.split('/')[1] ?? 0) || 0;
}
