/**
 * The recording loop of `capture`: reads the whole process table under a /proc root once per interval
 * for a bounded time, through the same reader the sampler uses, and keeps every reading of every
 * process the filter keeps. Kernel threads and the capturing process itself are counted, not recorded.
 * Synchronous reads between timer waits: one reading of a few hundred processes takes milliseconds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { createProcReader, type ProcessIdentity, type ProcessSample } from '../proc/reader.ts';
import { readCgroup } from './cgroup.ts';
import { compileFilter, describeFilter, type FilterSpec } from './filter.ts';
import {
  KERNEL_THREADS,
  RECORDING_FORMAT,
  type RecordedProcess,
  type Recording,
  THE_CAPTURE_ITSELF,
} from './recording.ts';

export interface RecordOptions {
  /** how long to record, ms */
  durationMs: number;
  /** time between two readings, ms */
  intervalMs: number;
  filter?: FilterSpec;
  /** where /proc is mounted @default '/proc' */
  root?: string;
  /** ends the recording early; what was read so far is kept */
  signal?: AbortSignal;
  /** told after every reading */
  onProgress?: (progress: Progress) => void;
}

export interface Progress {
  /** readings done, and planned */
  reading: number;
  readings: number;
  elapsedMs: number;
  /** recorded processes alive at this reading */
  live: number;
  /** recorded processes seen so far, and those that exited */
  seen: number;
  exited: number;
}

/** Kernel threads are children of kthreadd (PID 2), or kthreadd itself. */
const KTHREADD = 2;

/**
 * Records the process table for `durationMs`, one reading every `intervalMs` (the first at once, the
 * last at the end). Resolves with what was read when the time is up or the signal aborts.
 */
export async function record(options: RecordOptions): Promise<Recording> {
  const root = (options.root ?? '/proc').replace(/\/+$/, '') || '/';
  const reader = createProcReader({ root, contextSwitches: false });
  const filter = compileFilter(options.filter ?? {});
  const planned = Math.floor(options.durationMs / options.intervalMs) + 1;
  const readings: number[] = [];
  const processes: RecordedProcess[] = [];
  /** pid -> what was decided for the process that holds it now (a PID is reused after an exit) */
  const known = new Map<number, { startTimeMs: number; recorded: RecordedProcess | undefined }>();
  const kernelThreads = new Set<string>();
  let selfSeen = false;
  /** pid -> why it cannot be read; moved to cannotRead once gone */
  const unreadable = new Map<number, { name: string; reason: string }>();
  const cannotRead: Array<{ name: string; reason: string }> = [];
  let exited = 0;

  /** The record of a process seen for the first time, or undefined when it is not to be recorded. */
  function admit(pid: number, sample: { ppid: number; name: string; startTimeMs: number }) {
    if (pid === KTHREADD || sample.ppid === KTHREADD) {
      kernelThreads.add(`${pid}:${sample.startTimeMs}`);
      return undefined;
    }
    if (pid === process.pid) {
      selfSeen = true;
      return undefined;
    }
    let identity: ProcessIdentity | undefined;
    try {
      identity = reader.readIdentity(pid);
    } catch (error) {
      unreadable.set(pid, { name: sample.name, reason: `cannot be read: ${(error as Error).message}` });
      return undefined;
    }
    if (!identity) return undefined;
    if (identity.executablePath === '' && identity.commandLine.length === 0) {
      kernelThreads.add(`${pid}:${sample.startTimeMs}`);
      return undefined;
    }
    const cgroup = readCgroup(root, pid);
    if (!filter({ name: sample.name, owner: identity.owner, cgroup })) return undefined;
    const recorded: RecordedProcess = {
      pid,
      ppid: sample.ppid,
      name: sample.name,
      owner: identity.owner,
      executable: identity.executablePath,
      args: identity.commandLine.slice(1),
      cgroup,
      startTimeMs: sample.startTimeMs,
      points: [],
    };
    return recorded;
  }

  const tasksBefore = readTasksCreated(root);
  // The reader dates a start from btime, whole seconds; /proc/uptime dates the boot to 10 ms, which a
  // lifetime of a few seconds needs.
  const bootShiftMs = readBootMs(root, reader.bootTimeSeconds) - reader.bootTimeSeconds * 1000;
  const startedAt = Date.now();

  for (let reading = 0; reading < planned; reading++) {
    if (reading > 0) {
      const wait = startedAt + reading * options.intervalMs - Date.now();
      if (wait > 0) {
        try {
          await delay(wait, undefined, { signal: options.signal });
        } catch {
          break;
        }
      }
    }
    if (options.signal?.aborted) break;
    const readAt = Date.now();
    readings.push(readAt);
    const seenNow = new Set<number>();
    let live = 0;
    for (const pid of listPids(root)) {
      if (unreadable.has(pid)) {
        seenNow.add(pid);
        continue;
      }
      let sample: ProcessSample | undefined;
      try {
        sample = reader.readProcess(pid);
      } catch (error) {
        // Another namespace's or a hardened process: reported by name, never guessed at.
        unreadable.set(pid, {
          name: readComm(root, pid),
          reason: `cannot be read: ${(error as Error).message}`,
        });
        seenNow.add(pid);
        continue;
      }
      if (!sample) continue;
      sample.startTimeMs += bootShiftMs;
      seenNow.add(pid);
      let entry = known.get(pid);
      if (!entry || entry.startTimeMs !== sample.startTimeMs) {
        if (entry?.recorded) exited++;
        entry = { startTimeMs: sample.startTimeMs, recorded: admit(pid, sample) };
        if (entry.recorded) processes.push(entry.recorded);
        known.set(pid, entry);
      }
      if (!entry.recorded) continue;
      live++;
      entry.recorded.points.push([
        reading,
        sample.readAtMs,
        sample.cpuUserSeconds + sample.cpuSystemSeconds,
        sample.rssBytes,
        sample.threads,
        sample.openFds,
      ]);
    }
    for (const [pid, entry] of known) {
      if (seenNow.has(pid)) continue;
      if (entry.recorded) exited++;
      known.delete(pid);
    }
    for (const [pid, entry] of unreadable) {
      if (seenNow.has(pid)) continue;
      unreadable.delete(pid);
      cannotRead.push(entry);
    }
    options.onProgress?.({
      reading: readings.length,
      readings: planned,
      elapsedMs: readAt - startedAt,
      live,
      seen: processes.length,
      exited,
    });
  }

  const tasksAfter = readTasksCreated(root);
  const skipped: Recording['skipped'] = [];
  if (kernelThreads.size > 0) {
    skipped.push({
      name: KERNEL_THREADS,
      processes: kernelThreads.size,
      reason: 'kernel threads are not processes a program can start',
    });
  }
  const byReason = new Map<string, { name: string; processes: number; reason: string }>();
  for (const entry of [...cannotRead, ...unreadable.values()]) {
    const key = `${entry.name}\u0000${entry.reason}`;
    const group = byReason.get(key) ?? { ...entry, processes: 0 };
    group.processes++;
    byReason.set(key, group);
  }
  skipped.push(...byReason.values());
  if (selfSeen) {
    skipped.push({ name: THE_CAPTURE_ITSELF, processes: 1, reason: 'the process doing the recording' });
  }
  return {
    format: RECORDING_FORMAT,
    version: 1,
    host: hostname(),
    kernel: release(),
    clockTicks: reader.clockTicks,
    intervalMs: options.intervalMs,
    readings,
    options: describeFilter(options.filter ?? {}),
    ...(tasksBefore !== undefined && tasksAfter !== undefined
      ? { tasksCreated: tasksAfter - tasksBefore }
      : {}),
    processes,
    skipped,
  };
}

function listPids(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync(root)) {
    const c = entry.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(entry));
  }
  return pids;
}

/** The comm of `pid` for a report, or `pid N` when even that cannot be read. */
function readComm(root: string, pid: number): string {
  try {
    return readFileSync(`${root}/${pid}/comm`, 'utf8').replace(/\n$/, '') || `pid ${pid}`;
  } catch {
    return `pid ${pid}`;
  }
}

/** Boot time in epoch ms from /proc/uptime, or btime when uptime cannot be read. */
function readBootMs(root: string, btimeSeconds: number): number {
  try {
    const uptimeSeconds = Number.parseFloat(readFileSync(`${root}/uptime`, 'utf8'));
    if (Number.isFinite(uptimeSeconds)) return Math.round(Date.now() - uptimeSeconds * 1000);
  } catch {
    // a fixture tree without uptime: whole seconds will do
  }
  return btimeSeconds * 1000;
}

/** The `processes` line of /proc/stat: tasks created since boot (threads included). */
function readTasksCreated(root: string): number | undefined {
  try {
    const match = /^processes\s+(\d+)$/m.exec(readFileSync(`${root}/stat`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
