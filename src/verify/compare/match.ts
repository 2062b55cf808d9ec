/**
 * Which simulated process a downstream series belongs to. A collector in another PID namespace (a
 * container, a Kubernetes node agent) reports other PIDs than the simulator's, so a PID is taken as
 * is only when the verifier shares the simulator's PID namespace; from an outer namespace it is mapped
 * through /proc/PID/status NSpid (the last entry is the PID in the innermost namespace, the
 * simulator's), confirmed by the process's namespace or its start in clock ticks since boot (the same
 * in every namespace). Otherwise, or for a process that has exited, the series is matched by
 * executable name, command line and start time (OTLP carries it as the points' start time).
 */
import type { HostView } from '../host.ts';
import type { MatchMethod } from '../report.ts';
import type { GroundTruth, TruthExit, TruthProcess } from '../truth.ts';

export interface DownstreamIdentity {
  pid?: number | undefined;
  name?: string | undefined;
  commandLine?: string | undefined;
  startTimeMs?: number | undefined;
}

export type Target = { kind: 'live'; process: TruthProcess } | { kind: 'exited'; exit: TruthExit };

export type MatchResult =
  | { target: Target; method: MatchMethod }
  | { target: undefined; reason: 'unknown' | 'ambiguous'; candidates: TruthProcess[] };

/**
 * The engine's start time of an exited process is when its spawn resolved, a few milliseconds after
 * the kernel's; under load, more. Start times downstream are the kernel's.
 */
const EXIT_START_TOLERANCE_MS = 2000;

export interface Matcher {
  match(identity: DownstreamIdentity): MatchResult;
  /** what the verifier could see of the simulator's PIDs, for the report */
  readonly view: 'same-namespace' | 'same-host' | 'elsewhere';
}

/**
 * @param keeps the processes the expectations keep: exits that the identity downstream cannot tell apart
 * are narrowed to the kept ones first (a pipeline that drops one of two same-named processes and keeps
 * the other delivers exactly such a series, which is the kept one's)
 */
export function createMatcher(
  truth: GroundTruth,
  host: HostView | undefined,
  keeps: (exit: TruthExit) => boolean = () => true,
): Matcher {
  const ownBoot = host?.bootId() ?? null;
  const sameHost = ownBoot !== null && ownBoot === truth.host.boot_id;
  const ownNamespace = sameHost ? (host?.pidNamespace('self') ?? null) : null;
  const sameNamespace = ownNamespace !== null && ownNamespace === truth.host.pid_namespace;
  const tickMs = 1000 / truth.clock_ticks;

  const live = new Map<number, TruthProcess>();
  const byName = new Map<string, { live: TruthProcess[]; exited: TruthExit[] }>();
  const exitsByPid = new Map<number, TruthExit[]>();
  const named = (name: string) => {
    const entry = byName.get(name) ?? { live: [], exited: [] };
    byName.set(name, entry);
    return entry;
  };
  for (const process of truth.processes) {
    live.set(process.pid, process);
    named(process.name).live.push(process);
  }
  for (const exit of truth.exits) {
    named(exit.name).exited.push(exit);
    const list = exitsByPid.get(exit.pid) ?? [];
    list.push(exit);
    exitsByPid.set(exit.pid, list);
  }

  const startAgrees = (process: TruthProcess, startTimeMs: number | undefined) =>
    startTimeMs === undefined ||
    process.start_time_ms === null ||
    Math.abs(process.start_time_ms - startTimeMs) <= tickMs + 1;
  const exitStartAgrees = (exit: TruthExit, startTimeMs: number | undefined) =>
    startTimeMs === undefined || Math.abs(exit.started_at_ms - startTimeMs) <= EXIT_START_TOLERANCE_MS;
  const liveAgrees = (process: TruthProcess, id: DownstreamIdentity) =>
    (id.name === undefined || id.name === process.name) && startAgrees(process, id.startTimeMs);
  const exitAgrees = (exit: TruthExit, id: DownstreamIdentity) =>
    (id.name === undefined || id.name === exit.name) && exitStartAgrees(exit, id.startTimeMs);

  /** The newest exit of this PID that agrees with what the series says. */
  const exitedWithPid = (pid: number, id: DownstreamIdentity): TruthExit | undefined => {
    const exits = exitsByPid.get(pid) ?? [];
    for (let i = exits.length - 1; i >= 0; i--) {
      const exit = exits[i] as TruthExit;
      if (exitAgrees(exit, id)) return exit;
    }
    return undefined;
  };

  const byPid = (id: DownstreamIdentity & { pid: number }): MatchResult | 'exited-only' | undefined => {
    if (sameNamespace) {
      const process = live.get(id.pid);
      if (process && liveAgrees(process, id)) return { target: { kind: 'live', process }, method: 'pid' };
      const exit = exitedWithPid(id.pid, id);
      if (exit) return { target: { kind: 'exited', exit }, method: 'pid' };
      // The verifier sees the simulator's whole PID space: a PID that is no live process of ours
      // can only be one that exited (or no simulated process at all).
      return 'exited-only';
    }
    if (sameHost && host) {
      const nspid = host.nspid(id.pid);
      if (nspid && nspid.length >= 2) {
        const process = live.get(nspid[nspid.length - 1] as number);
        if (process && liveAgrees(process, id)) {
          const namespace = host.pidNamespace(id.pid);
          const confirmed =
            namespace !== null
              ? namespace === truth.host.pid_namespace
              : process.start_ticks !== null && host.startTicks(id.pid) === process.start_ticks;
          if (confirmed) return { target: { kind: 'live', process }, method: 'nspid' };
        }
      }
    }
    return undefined;
  };

  const byIdentity = (id: DownstreamIdentity, exitedOnly: boolean): MatchResult => {
    const entry = id.name === undefined ? undefined : byName.get(id.name);
    if (!entry) return { target: undefined, reason: 'unknown', candidates: [] };
    const method: MatchMethod = id.startTimeMs === undefined ? 'name+command-line' : 'start-time';
    const liveCandidates = exitedOnly
      ? []
      : entry.live.filter(
          (process) =>
            startAgrees(process, id.startTimeMs) &&
            (id.commandLine === undefined ||
              process.command_line === null ||
              process.command_line.join(' ') === id.commandLine),
        );
    if (liveCandidates.length === 1) {
      return { target: { kind: 'live', process: liveCandidates[0] as TruthProcess }, method };
    }
    if (liveCandidates.length > 1)
      return { target: undefined, reason: 'ambiguous', candidates: liveCandidates };
    // The truth keeps no command line for exited processes: name and start time only.
    const agreeing = entry.exited.filter((exit) => exitStartAgrees(exit, id.startTimeMs));
    const kept = agreeing.filter(keeps);
    const exits = kept.length > 0 ? kept : agreeing;
    if (exits.length === 1) return { target: { kind: 'exited', exit: exits[0] as TruthExit }, method };
    if (exits.length > 1 && id.startTimeMs !== undefined) {
      // Several generations under one name: the start time picks the closest. Starts within a clock
      // tick of each other cannot be told apart by it (processes started together): among those the
      // series is taken for the newest exit, as without a start time below.
      const start = id.startTimeMs;
      const distance = (exit: TruthExit) => Math.abs(exit.started_at_ms - start);
      const nearest = Math.min(...exits.map(distance));
      const tied = exits.filter((exit) => distance(exit) <= nearest + tickMs);
      const newest = tied.reduce((a, b) => (b.exited_at_ms > a.exited_at_ms ? b : a));
      return { target: { kind: 'exited', exit: newest }, method };
    }
    if (exits.length > 1) {
      // Without a start time the exits of one name cannot be told apart: the series is taken for the
      // newest, the one whose linger is shortest, so that a verdict of "gone too late" is never a guess.
      const newest = exits.reduce((a, b) => (b.exited_at_ms > a.exited_at_ms ? b : a));
      return { target: { kind: 'exited', exit: newest }, method };
    }
    return { target: undefined, reason: 'unknown', candidates: [] };
  };

  return {
    view: sameNamespace ? 'same-namespace' : sameHost ? 'same-host' : 'elsewhere',
    match(id) {
      let exitedOnly = false;
      if (id.pid !== undefined && Number.isSafeInteger(id.pid) && id.pid > 0) {
        const result = byPid(id as DownstreamIdentity & { pid: number });
        if (result === 'exited-only') exitedOnly = true;
        else if (result) return result;
      }
      return byIdentity(id, exitedOnly);
    },
  };
}
