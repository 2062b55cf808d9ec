/**
 * The IO shell around the parsers: reads one process's files under a /proc root and converts ticks and pages
 * into seconds and bytes, the units of the hostmetrics process scraper.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createFdCounter } from './fd-count.ts';
import { createFileReader } from './files.ts';
import { createOwnerLookup } from './owners.ts';
import {
  parseAuxv,
  parseBootTime,
  parseCmdline,
  parseIo,
  parseStat,
  parseStatm,
  parseStatus,
} from './parse.ts';

/** One reading of one live process, in seconds, bytes and counts. Counters are cumulative since its start. */
export interface ProcessSample {
  pid: number;
  ppid: number;
  /** The comm (at most 15 bytes for a user process), as status `Name:` shows it. */
  name: string;
  /** The one-letter state of /proc/PID/stat: R, S, D, T, ... */
  state: string;
  /** utime / clock ticks per second. */
  cpuUserSeconds: number;
  /** stime / clock ticks per second. */
  cpuSystemSeconds: number;
  /** delayacct_blkio_ticks / clock ticks per second: time spent waiting for block IO. */
  cpuWaitSeconds: number;
  /** statm resident x page size. Not stat's rss field, which lags behind (it under-reports). */
  rssBytes: number;
  /** statm size x page size. */
  vmsBytes: number;
  /** Threads of the process: stat num_threads, the same count as status `Threads:`. */
  threads: number;
  /** Entries of /proc/PID/fd. */
  openFds: number;
  /** io rchar: bytes passed to read() and similar calls, which is what process.disk.io reports. */
  readChars: number;
  /** io wchar: bytes passed to write() and similar calls. */
  writeChars: number;
  /** status `voluntary_ctxt_switches:`; 0 when the reader was made without `contextSwitches`. */
  voluntaryCtxSwitches: number;
  /** status `nonvoluntary_ctxt_switches:`; 0 when the reader was made without `contextSwitches`. */
  involuntaryCtxSwitches: number;
  minorFaults: number;
  majorFaults: number;
  /** Start of the process, epoch milliseconds: boot time + starttime / clock ticks. */
  startTimeMs: number;
  /**
   * stat starttime: clock ticks from boot to the start. The same number in every PID namespace, so it
   * tells whether a PID seen from another namespace is this process.
   */
  startTicks: number;
  /** Date.now() once this process's files were read. */
  readAtMs: number;
}

/** What a process is, as opposed to what it does: read once per process. */
export interface ProcessIdentity {
  /** Target of /proc/PID/exe; empty for a kernel thread. */
  executablePath: string;
  /** /proc/PID/cmdline split at NULs. */
  commandLine: string[];
  /** User name of the real uid, or the uid as a string when the passwd file does not name it. */
  owner: string;
}

/** Reads processes from one /proc tree. Synchronous, to keep a tick of thousands of processes cheap. */
export interface ProcReader {
  /** undefined when the process is gone (ENOENT/ESRCH, also when it exits mid-read) or is a zombie (Z/X). */
  readProcess(pid: number): ProcessSample | undefined;
  /** undefined when the process is gone or is a zombie. */
  readIdentity(pid: number): ProcessIdentity | undefined;
  /** Clock ticks per second (sysconf _SC_CLK_TCK) from the auxiliary vector; 100 if it cannot be read. */
  readonly clockTicks: number;
  /** Page size in bytes from the auxiliary vector; 4096 if it cannot be read. */
  readonly pageSize: number;
  /** Boot time in seconds since the epoch, from the `btime` line of `<root>/stat`. */
  readonly bootTimeSeconds: number;
}

const DEFAULT_CLOCK_TICKS = 100;
const DEFAULT_PAGE_SIZE = 4096;

/**
 * Creates a reader of the /proc tree at `root`. The owner's name comes from `<root>/../etc/passwd`, so a
 * host's filesystem mounted elsewhere (its /proc at /hostfs/proc) names the host's users.
 * @param options.root where /proc is mounted, or a directory laid out like it. @default '/proc'
 * @param options.contextSwitches also read /proc/PID/status for the context switches. Everything else
 *   a sample holds comes from stat, statm, io and the fd count; status is the costliest file to read
 *   (a third of a sample's time in the kernel), so a sampler that does not export context switches
 *   leaves it out. @default true
 */
export function createProcReader(options: { root?: string; contextSwitches?: boolean } = {}): ProcReader {
  const root = (options.root ?? '/proc').replace(/\/+$/, '') || '/';
  const contextSwitches = options.contextSwitches ?? true;
  const files = createFileReader();
  const { clockTicks, pageSize } = readConstants(root, files.bytes);
  const bootTimeSeconds = readBootTime(root);
  const countFds = createFdCounter(root);
  const ownerOf = createOwnerLookup(join(dirname(root), 'etc', 'passwd'));

  function readProcess(pid: number): ProcessSample | undefined {
    const dir = processDir(root, pid);
    let file = 'statm';
    try {
      const statm = parseStatm(files.text(`${dir}statm`));
      file = 'status';
      const status = contextSwitches ? parseStatus(files.text(`${dir}status`)) : undefined;
      file = 'io';
      const io = parseIo(files.text(`${dir}io`));
      file = 'fd';
      const openFds = countFds(`${dir}fd`);
      // stat comes last: a process that exits while we read then shows as gone or as a zombie, never as a
      // sample with the zeros a dying process's statm shows.
      file = 'stat';
      const stat = parseStat(files.text(`${dir}stat`));
      if (isDead(stat.state)) return undefined;
      return {
        pid: stat.pid,
        ppid: stat.ppid,
        // stat's comm is raw where status escapes '\\' and newlines; parseStatus unescapes, so both agree.
        name: stat.comm,
        state: stat.state,
        cpuUserSeconds: stat.utimeTicks / clockTicks,
        cpuSystemSeconds: stat.stimeTicks / clockTicks,
        cpuWaitSeconds: stat.blkioTicks / clockTicks,
        rssBytes: statm.residentPages * pageSize,
        vmsBytes: statm.sizePages * pageSize,
        threads: stat.numThreads,
        openFds,
        readChars: io.rchar,
        writeChars: io.wchar,
        voluntaryCtxSwitches: status?.voluntaryCtxtSwitches ?? 0,
        involuntaryCtxSwitches: status?.nonvoluntaryCtxtSwitches ?? 0,
        minorFaults: stat.minflt,
        majorFaults: stat.majflt,
        startTimeMs: bootTimeSeconds * 1000 + Math.round((stat.starttimeTicks * 1000) / clockTicks),
        startTicks: stat.starttimeTicks,
        readAtMs: Date.now(),
      };
    } catch (error) {
      if (isGone(error)) return undefined;
      throw readError(pid, `${dir}${file}`, error);
    }
  }

  function readIdentity(pid: number): ProcessIdentity | undefined {
    const dir = processDir(root, pid);
    let file = 'exe';
    try {
      const executablePath = readExe(`${dir}exe`);
      file = 'cmdline';
      const commandLine = parseCmdline(files.bytes(`${dir}cmdline`));
      file = 'status';
      const { uid } = parseStatus(files.text(`${dir}status`));
      // A zombie has lost its exe link like a kernel thread; only stat tells them apart.
      file = 'stat';
      if (executablePath === '' && isDead(parseStat(files.text(`${dir}stat`)).state)) return undefined;
      return { executablePath, commandLine, owner: ownerOf(uid) };
    } catch (error) {
      if (isGone(error)) return undefined;
      throw readError(pid, `${dir}${file}`, error);
    }
  }

  return { readProcess, readIdentity, clockTicks, pageSize, bootTimeSeconds };
}

function processDir(root: string, pid: number): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new TypeError(`pid must be a positive integer, got ${String(pid)} (${typeof pid})`);
  }
  return root === '/' ? `/${pid}/` : `${root}/${pid}/`;
}

function readConstants(
  root: string,
  readBytes: (path: string) => Buffer,
): { clockTicks: number; pageSize: number } {
  const path = `${root}/self/auxv`;
  try {
    return parseAuxv(readBytes(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { clockTicks: DEFAULT_CLOCK_TICKS, pageSize: DEFAULT_PAGE_SIZE };
    }
    throw new Error(`Reading ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function readBootTime(root: string): number {
  const path = `${root}/stat`;
  try {
    return parseBootTime(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`Reading the boot time from ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** The exe link's target, or '' when there is none (kernel threads, zombies: ENOENT on a live directory). */
function readExe(path: string): string {
  try {
    return readlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function isDead(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

/** ENOENT: the directory is gone; ESRCH: it went away while a file of it was open. */
function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function readError(pid: number, path: string, error: unknown): Error {
  return new Error(`Reading ${path} of pid ${pid}: ${(error as Error).message}`, { cause: error });
}
