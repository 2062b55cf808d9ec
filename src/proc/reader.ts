/**
 * The IO shell around the parsers: reads one process's files under a /proc root and converts ticks and pages
 * into seconds and bytes, the units of the hostmetrics process scraper.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createFdCounter } from './fd-count.ts';
import { createFileReader } from './files.ts';
import { createOwnerLookup } from './owners.ts';
import {
  parseAuxv,
  parseBootTime,
  parseCmdline,
  parseContextSwitches,
  parseIo,
  parseLogicalCpus,
  parseMemTotal,
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
  /** io syscr: read() and similar calls made, what process.disk.operations reports as `read`. */
  readSyscalls: number;
  /** io syscw: write() and similar calls made. */
  writeSyscalls: number;
  /**
   * `voluntary_ctxt_switches:` summed over the live threads, as the collector counts them (see
   * `readContextSwitches`); 0 when the reader was made without `contextSwitches`.
   */
  voluntaryCtxSwitches: number;
  /** `nonvoluntary_ctxt_switches:`, summed the same way; 0 without `contextSwitches`. */
  involuntaryCtxSwitches: number;
  /** status `ShdPnd:` as an integer (see parseStatus); 0 when the reader was made without `signalsPending`. */
  signalsPending: number;
  /**
   * RSS in percent (0-100, not a fraction) of MemTotal, in float32, as process.memory.utilization
   * reports it; undefined when MemTotal is unknown.
   */
  memoryPercent: number | undefined;
  /**
   * Share of all logical CPUs used per state since the previous reading of the same process, as
   * process.cpu.utilization reports it; undefined on a process's first reading. The reader leaves it
   * undefined: the sampler, which holds the previous reading, fills it in.
   */
  cpuUtilization: CpuUtilization | undefined;
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

/** CPU time per state over an interval, divided by the interval and by the logical CPUs. */
export interface CpuUtilization {
  user: number;
  system: number;
  wait: number;
}

/** What a process is, as opposed to what it does: read once per process. */
export interface ProcessIdentity {
  /** Target of /proc/PID/exe; empty for a kernel thread. */
  executablePath: string;
  /** /proc/PID/cmdline split at NULs. */
  commandLine: string[];
  /** User name of the real uid, or the uid as a string when the passwd file does not name it. */
  owner: string;
  /**
   * The whole /proc/PID/cgroup less its final newline, as the collector's process.cgroup holds it (one
   * line per hierarchy on a cgroup v1 or hybrid host); undefined when the reader was made without `cgroup`.
   */
  cgroup: string | undefined;
}

/** Reads processes from one /proc tree. Synchronous, to keep a tick of thousands of processes cheap. */
export interface ProcReader {
  /**
   * undefined when the process is gone (ENOENT/ESRCH, also when it exits mid-read) or is a zombie (Z/X).
   * With `into`, the reading is written into that sample and returns it, every field but `cpuUtilization`
   * (left for the sampler), and only once every file was read: a process gone mid-read leaves it as it was.
   */
  readProcess(pid: number, into?: ProcessSample): ProcessSample | undefined;
  /** undefined when the process is gone or is a zombie. */
  readIdentity(pid: number): ProcessIdentity | undefined;
  /** Clock ticks per second (sysconf _SC_CLK_TCK) from the auxiliary vector; 100 if it cannot be read. */
  readonly clockTicks: number;
  /** Page size in bytes from the auxiliary vector; 4096 if it cannot be read. */
  readonly pageSize: number;
  /** Boot time in seconds since the epoch, from the `btime` line of `<root>/stat`. */
  readonly bootTimeSeconds: number;
  /** MemTotal of `<root>/meminfo`, bytes, read once: the base of `memoryPercent` (0: no meminfo). */
  readonly memTotalBytes: number;
  /** Logical CPUs as the collector counts them (see parseLogicalCpus), read once. */
  readonly logicalCpus: number;
}

/** What a reader reads beyond the files every sample needs (stat, statm, io, the fd count). */
export interface ProcReaderOptions {
  /** where /proc is mounted, or a directory laid out like it. @default '/proc' */
  root?: string;
  /**
   * Read the context switches: /proc/PID/status, and for a process of several threads the status of
   * each of its threads. Status is the costliest file of a sample (a third of its time in the kernel)
   * and the threads' files cost one read each, so a sampler that does not export context switches
   * leaves them out. @default true
   */
  contextSwitches?: boolean;
  /** Read the pending signals (status `ShdPnd:`); costs the status read when nothing else needs it. @default true */
  signalsPending?: boolean;
  /** Read /proc/PID/cgroup with the identity. @default false */
  cgroup?: boolean;
}

const DEFAULT_CLOCK_TICKS = 100;
const DEFAULT_PAGE_SIZE = 4096;

/**
 * Creates a reader of the /proc tree at `root`. The owner's name comes from `<root>/../etc/passwd`, so a
 * host's filesystem mounted elsewhere (its /proc at /hostfs/proc) names the host's users.
 */
export function createProcReader(options: ProcReaderOptions = {}): ProcReader {
  const root = (options.root ?? '/proc').replace(/\/+$/, '') || '/';
  const contextSwitches = options.contextSwitches ?? true;
  const signalsPending = options.signalsPending ?? true;
  const readStatus = contextSwitches || signalsPending;
  const readCgroup = options.cgroup ?? false;
  const files = createFileReader();
  const { clockTicks, pageSize } = readConstants(root, files.bytes);
  const bootTimeSeconds = readBootTime(root);
  const memTotalBytes = readMemTotal(root);
  const logicalCpus = readLogicalCpus(root);
  const countFds = createFdCounter(root);
  const ownerOf = createOwnerLookup(join(dirname(root), 'etc', 'passwd'));
  // The collector computes in float32 (gopsutil process.go 344-357: 100 * float32(rss) / float32(total)).
  const memTotal32 = Math.fround(memTotalBytes);
  const memoryPercent = (rssBytes: number) =>
    memTotal32 > 0 ? Math.fround(Math.fround(100 * Math.fround(rssBytes)) / memTotal32) : undefined;

  /**
   * The context switches of a process as the collector counts them (process_scraper.go 405-457): one
   * thread, its status alone; several, the sum over the threads listed in task/ now, each read from its
   * own status. Threads that exited are in no file any more, so the sum can go down when they do. A
   * thread that exits between the listing and its read is left out (it is no longer live), where the
   * collector fails the metric for that scrape.
   */
  function readContextSwitches(dir: string, status: ReturnType<typeof parseStatus>) {
    if (status.threads <= 1) {
      return { voluntary: status.voluntaryCtxtSwitches, nonvoluntary: status.nonvoluntaryCtxtSwitches };
    }
    let voluntary = 0;
    let nonvoluntary = 0;
    for (const tid of readdirSync(`${dir}task`)) {
      let text: string;
      try {
        text = files.text(`${dir}task/${tid}/status`);
      } catch (error) {
        if (isGone(error)) continue;
        throw error;
      }
      const thread = parseContextSwitches(text);
      voluntary += thread.voluntary;
      nonvoluntary += thread.nonvoluntary;
    }
    return { voluntary, nonvoluntary };
  }

  function readProcess(pid: number, into?: ProcessSample): ProcessSample | undefined {
    const dir = processDir(root, pid);
    let file = 'statm';
    try {
      const statm = parseStatm(files.text(`${dir}statm`));
      file = 'status';
      const status = readStatus ? parseStatus(files.text(`${dir}status`)) : undefined;
      file = 'task';
      const switches = contextSwitches && status ? readContextSwitches(dir, status) : undefined;
      file = 'io';
      const io = parseIo(files.text(`${dir}io`));
      file = 'fd';
      const openFds = countFds(`${dir}fd`);
      // stat comes last: a process that exits while we read then shows as gone or as a zombie, never as a
      // sample with the zeros a dying process's statm shows.
      file = 'stat';
      const stat = parseStat(files.text(`${dir}stat`));
      if (isDead(stat.state)) return undefined;
      const sample = into ?? emptySample();
      sample.pid = stat.pid;
      sample.ppid = stat.ppid;
      // stat's comm is raw where status escapes '\\' and newlines; parseStatus unescapes, so both agree.
      // The same name keeps the string already held: the new one dies young.
      if (sample.name !== stat.comm) sample.name = stat.comm;
      sample.state = stat.state;
      sample.cpuUserSeconds = stat.utimeTicks / clockTicks;
      sample.cpuSystemSeconds = stat.stimeTicks / clockTicks;
      sample.cpuWaitSeconds = stat.blkioTicks / clockTicks;
      sample.rssBytes = statm.residentPages * pageSize;
      sample.vmsBytes = statm.sizePages * pageSize;
      sample.threads = stat.numThreads;
      sample.openFds = openFds;
      sample.readChars = io.rchar;
      sample.writeChars = io.wchar;
      sample.readSyscalls = io.syscr;
      sample.writeSyscalls = io.syscw;
      sample.voluntaryCtxSwitches = switches?.voluntary ?? 0;
      sample.involuntaryCtxSwitches = switches?.nonvoluntary ?? 0;
      sample.signalsPending = signalsPending && status ? status.signalsPending : 0;
      sample.memoryPercent = memoryPercent(statm.residentPages * pageSize);
      if (!into) sample.cpuUtilization = undefined;
      sample.minorFaults = stat.minflt;
      sample.majorFaults = stat.majflt;
      sample.startTimeMs = bootTimeSeconds * 1000 + Math.round((stat.starttimeTicks * 1000) / clockTicks);
      sample.startTicks = stat.starttimeTicks;
      sample.readAtMs = Date.now();
      return sample;
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
      file = 'cgroup';
      const cgroup = readCgroup ? trimFinalNewline(files.text(`${dir}cgroup`)) : undefined;
      return { executablePath, commandLine, owner: ownerOf(uid), cgroup };
    } catch (error) {
      if (isGone(error)) return undefined;
      throw readError(pid, `${dir}${file}`, error);
    }
  }

  return {
    readProcess,
    readIdentity,
    clockTicks,
    pageSize,
    bootTimeSeconds,
    memTotalBytes,
    logicalCpus,
  };
}

/**
 * A sample with every field, in the order the reader writes them: every sample has one shape, and its
 * number fields stay numbers, so V8 updates them in place when a sample is read into again.
 */
function emptySample(): ProcessSample {
  return {
    pid: 0,
    ppid: 0,
    name: '',
    state: '',
    cpuUserSeconds: 0,
    cpuSystemSeconds: 0,
    cpuWaitSeconds: 0,
    rssBytes: 0,
    vmsBytes: 0,
    threads: 0,
    openFds: 0,
    readChars: 0,
    writeChars: 0,
    readSyscalls: 0,
    writeSyscalls: 0,
    voluntaryCtxSwitches: 0,
    involuntaryCtxSwitches: 0,
    signalsPending: 0,
    memoryPercent: undefined,
    cpuUtilization: undefined,
    minorFaults: 0,
    majorFaults: 0,
    startTimeMs: 0,
    startTicks: 0,
    readAtMs: 0,
  };
}

/** The collector trims one final newline of the cgroup file and keeps the rest (PS/process.go 131-140). */
function trimFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
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

/** 0 when the tree has no meminfo (a fixture tree): no memory utilization is reported then. */
function readMemTotal(root: string): number {
  const path = `${root}/meminfo`;
  try {
    return parseMemTotal(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new Error(`Reading MemTotal from ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** The collector's count; 0 when neither cpuinfo nor stat names a CPU (no utilization is emitted then). */
function readLogicalCpus(root: string): number {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  return parseLogicalCpus(read(`${root}/cpuinfo`), read(`${root}/stat`));
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
