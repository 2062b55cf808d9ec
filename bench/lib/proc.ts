/** What the benchmark reads from /proc about processes it did not write: memory, CPU, children. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** Rss and Pss in bytes from /proc/PID/smaps_rollup; undefined when the process is gone. */
export function smapsRollup(pid: number): { rss: number; pss: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { rss: kib('Rss') * 1024, pss: kib('Pss') * 1024 };
  } catch {
    return undefined;
  }
}

/** utime + stime of a process in seconds (/proc/PID/stat fields 14 and 15); NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** RSS of a process in bytes (status VmRSS); NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One letter of /proc/PID/stat, or undefined when the PID has no /proc entry (gone and reaped). */
export function stateOf(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.charAt(text.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

/** True when the PID is dead: reaped (no entry) or a zombie waiting to be reaped. */
export function isDead(pid: number): boolean {
  const state = stateOf(pid);
  return state === undefined || state === 'Z' || state === 'X';
}

/** PIDs whose parent is `ppid`, with their state, from a scan of /proc. */
/** The engine's launcher (`ps-launcher`, its child that starts and reaps the workers), if one runs. */
export function launcherOf(enginePid: number): number | undefined {
  for (const child of childrenOf(enginePid)) {
    try {
      if (readFileSync(`/proc/${child.pid}/comm`, 'utf8') === 'ps-launcher\n') return child.pid;
    } catch {
      // exited while listed
    }
  }
  return undefined;
}

/** The simulated processes of an engine, in any state: its launcher's children, else its own. */
export function workersOf(enginePid: number): Array<{ pid: number; state: string }> {
  const launcher = launcherOf(enginePid);
  return launcher === undefined ? childrenOf(enginePid) : childrenOf(launcher);
}

/** CPU seconds of the engine's launcher so far (0 when none runs: it starts with the first spawn). */
export function launcherCpuSeconds(enginePid: number): number {
  const launcher = launcherOf(enginePid);
  const seconds = launcher === undefined ? 0 : cpuSeconds(launcher);
  return Number.isNaN(seconds) ? 0 : seconds;
}

/** Whether this kernel lists each thread's children (CONFIG_PROC_CHILDREN): the same for every process. */
const HAS_CHILD_LISTS = existsSync(`/proc/self/task/${process.pid}/children`);

/**
 * PIDs whose parent is `ppid`, with their state. The children come from the kernel's list of each of
 * its threads (/proc/PID/task/TID/children), so a call reads the children's stat and nothing else; at
 * 10,000 workers a walk of all of /proc (20,000 entries and their stat) took the best part of a second
 * and was the granularity of the cold-start figure. Kernels built without those files get the walk.
 */
export function childrenOf(ppid: number): Array<{ pid: number; state: string }> {
  const pids = childPids(ppid);
  if (pids === undefined) return walkChildrenOf(ppid);
  const children: Array<{ pid: number; state: string }> = [];
  for (const pid of pids) {
    const state = stateIfChildOf(pid, ppid);
    if (state !== undefined) children.push({ pid, state });
  }
  return children;
}

/**
 * The PIDs the kernel lists as children of the threads of `pid` (any state, zombies too); an empty list
 * once `pid` is gone; undefined when the kernel has no children files. The lists are read one after
 * the other: a child that starts or exits meanwhile may be missing (see proc(5)), so a count taken from
 * them is a lower bound to be confirmed.
 */
export function childPids(pid: number): number[] | undefined {
  if (!HAS_CHILD_LISTS) return undefined;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const pids: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended while listed
    }
    for (const word of text.split(/\s+/)) if (word !== '') pids.push(Number(word));
  }
  return pids;
}

/** The state letter of `pid` if its parent is `ppid`; undefined if it is not (any more). */
function stateIfChildOf(pid: number, ppid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]) === ppid ? fields[0] : undefined;
  } catch {
    return undefined; // exited (and reaped) since it was listed
  }
}

function walkChildrenOf(ppid: number): Array<{ pid: number; state: string }> {
  const children: Array<{ pid: number; state: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const state = stateIfChildOf(pid, ppid);
    if (state !== undefined) children.push({ pid, state });
  }
  return children;
}

/** MemAvailable in bytes. */
export function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
}

/**
 * utime + stime in seconds of each thread of a process, summed by thread name (comm: V8's helpers
 * `V8Worker`, the libuv pool `libuv-worker`, ...); the main thread (TID = PID) is `MAIN_THREAD`.
 */
export const MAIN_THREAD = '(main thread)';

export function threadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name =
        Number(tid) === pid ? MAIN_THREAD : text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      byName.set(name, (byName.get(name) ?? 0) + seconds);
    } catch {
      // the thread ended while listed
    }
  }
  return byName;
}
