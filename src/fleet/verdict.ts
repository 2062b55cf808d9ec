/**
 * One verdict over all the shards of a run: every shard present exactly once and of the same run, each
 * in the state the run should be in, none cut short, their ground truth added up. Pure: the readings
 * come from collect.ts. A shard that is missing, unreachable, restarted into another run, failed or
 * late beyond the allowed skew fails the verdict, and the report says which shard and why.
 */
import type { ShardReading, ShardResults } from './collect.ts';

export interface VerdictOptions {
  /** the number of shards the run has @default what the shards themselves say */
  expectShards?: number | undefined;
  /** the processes of the whole run (PROCESS_COUNT) */
  expectProcesses?: number | undefined;
  /** 'ended': every shard completed (a Job); 'running': every shard running; 'any' @default 'any' */
  expectState?: 'ended' | 'running' | 'any';
  /** the largest start skew tolerated, ms (undefined: reported, not judged) */
  maxSkewMs?: number | undefined;
}

export interface ShardVerdict {
  index: number | null;
  endpoint: string;
  reachable: boolean;
  state: string | null;
  ok: boolean;
  problems: string[];
  planned: number;
  started: number;
  live: number;
  exited: number;
  start_skew_ms: number | null;
}

export interface FleetTotals {
  shards: number;
  planned: number;
  started: number;
  live: number;
  peak: number;
  exited: { total: number; by_reason: Record<string, number> };
  series: { current: number; peak: number };
  started_by_priority: Record<string, number>;
}

/** One shard's pipeline verification (process-simulator verify), in short. */
export interface ShardPipeline {
  index: number | null;
  endpoint: string;
  /** pass, fail, or error when it could not be verified */
  verdict: 'pass' | 'fail' | 'error';
  /** the failed checks with their summaries, or the error */
  problems: string[];
  checked: number;
  failed: number;
}

export interface FleetReport {
  pass: boolean;
  /** the pipeline verification of every shard, when a source was given */
  pipeline?: { source: string; pass: boolean; shards: ShardPipeline[] };
  expected_shards: number;
  /** shard indices no reachable shard holds */
  missing: number[];
  /** problems of the run as a whole (not of one shard) */
  problems: string[];
  shards: ShardVerdict[];
  totals: FleetTotals;
}

function sumInto(target: Record<string, number>, add: Record<string, number>): void {
  for (const [key, value] of Object.entries(add)) target[key] = (target[key] ?? 0) + value;
}

export function fleetVerdict(readings: readonly ShardReading[], options: VerdictOptions = {}): FleetReport {
  const read = readings.filter((r): r is ShardReading & { results: ShardResults } => r.results !== undefined);
  const counts = read.map((r) => r.results.shard?.count ?? 1);
  const mostCommon = counts.sort(
    (a, b) => counts.filter((c) => c === b).length - counts.filter((c) => c === a).length,
  )[0];
  const expected = options.expectShards ?? mostCommon ?? Math.max(1, readings.length);
  const problems: string[] = [];
  const byIndex = new Map<number, number>();
  for (const r of read) {
    const index = r.results.shard?.index ?? 0;
    byIndex.set(index, (byIndex.get(index) ?? 0) + 1);
  }
  const seeds = new Set(read.map((r) => r.results.seed));
  const profiles = new Set(read.map((r) => r.results.profile));
  if (seeds.size > 1) problems.push(`the shards run different seeds (${[...seeds].join(', ')}): not one run`);
  if (profiles.size > 1) problems.push(`the shards run different profiles (${[...profiles].join(', ')})`);

  const shards: ShardVerdict[] = readings.map((reading) => {
    const results = reading.results;
    const verdict: ShardVerdict = {
      index: results ? (results.shard?.index ?? 0) : null,
      endpoint: reading.endpoint,
      reachable: reading.reachable,
      state: results?.state ?? null,
      ok: true,
      problems: [],
      planned: results?.processes.planned ?? 0,
      started: results?.processes.started.total ?? 0,
      live: results?.processes.live.total ?? 0,
      exited: results?.processes.exited.total ?? 0,
      start_skew_ms: results?.start_skew_ms ?? null,
    };
    const fail = (problem: string) => {
      verdict.ok = false;
      verdict.problems.push(problem);
    };
    if (!reading.reachable) fail(`unreachable: ${reading.error ?? 'no answer'}`);
    else if (!results) fail(reading.error ?? 'no results');
    if (!results) return verdict;
    const count = results.shard?.count ?? 1;
    if (count !== expected) fail(`is shard ${verdict.index} of ${count}, but the run has ${expected} shards`);
    if (verdict.index !== null && verdict.index >= expected)
      fail(`index ${verdict.index} is beyond the run's ${expected} shards`);
    if ((byIndex.get(verdict.index ?? 0) ?? 0) > 1)
      fail(`shard index ${verdict.index} answers on more than one endpoint`);
    if (results.state === 'failed') fail(`failed: ${results.failure_reason ?? 'no reason given'}`);
    if (options.expectState === 'ended' && results.state !== 'completed') {
      fail(`is ${results.state}; a finished run's shards are completed`);
    }
    if (options.expectState === 'running' && results.state !== 'running')
      fail(`is ${results.state}, not running`);
    if (results.warning) fail(`cut short: ${results.warning}`);
    if (
      options.maxSkewMs !== undefined &&
      results.start_skew_ms !== null &&
      Math.abs(results.start_skew_ms) > options.maxSkewMs
    ) {
      fail(`started ${results.start_skew_ms} ms from START_AT (at most ${options.maxSkewMs} allowed)`);
    }
    return verdict;
  });

  const missing: number[] = [];
  for (let index = 0; index < expected; index++) if (!byIndex.has(index)) missing.push(index);
  for (const index of missing)
    problems.push(`shard ${index} of ${expected}: no reachable simulator holds it`);

  const totals: FleetTotals = {
    shards: read.length,
    planned: 0,
    started: 0,
    live: 0,
    peak: 0,
    exited: { total: 0, by_reason: {} },
    series: { current: 0, peak: 0 },
    started_by_priority: {},
  };
  for (const { results } of read) {
    totals.planned += results.processes.planned;
    totals.started += results.processes.started.total;
    totals.live += results.processes.live.total;
    totals.peak += results.processes.peak.total;
    totals.exited.total += results.processes.exited.total;
    sumInto(
      totals.exited.by_reason,
      Object.fromEntries(Object.entries(results.processes.exited.by_reason).map(([k, v]) => [k, v.total])),
    );
    totals.series.current += results.series.total.current;
    totals.series.peak += results.series.total.peak;
    sumInto(totals.started_by_priority, results.processes.started.by_priority);
  }
  if (options.expectProcesses !== undefined && totals.planned !== options.expectProcesses) {
    problems.push(
      `the shards plan ${totals.planned} processes in all; the run has ${options.expectProcesses}`,
    );
  }
  return {
    pass: problems.length === 0 && shards.every((shard) => shard.ok),
    expected_shards: expected,
    missing,
    problems,
    shards: shards.sort(
      (a, b) => (a.index ?? Number.MAX_SAFE_INTEGER) - (b.index ?? Number.MAX_SAFE_INTEGER),
    ),
    totals,
  };
}

/** Adds the shards' pipeline verifications to a fleet report: the run passes only if every one does. */
export function withPipeline(report: FleetReport, source: string, shards: ShardPipeline[]): FleetReport {
  const pass = shards.length > 0 && shards.every((shard) => shard.verdict === 'pass');
  return { ...report, pass: report.pass && pass, pipeline: { source, pass, shards } };
}
