/**
 * One verification, retried within a wait window: observe the pipeline's output, then take the ground
 * truth (its fresh readings come after the observation, so every value seen downstream was read
 * between two of the simulator's readings), compare; again until it passes with nothing pending (or
 * with only what became pending since, once max_delay has passed) or the window ends. The API route and the CLI run the same loop, each with its own way to the truth.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { compare } from './compare/compare.ts';
import { downstreamNames } from './compare/plan.ts';
import { SourceError } from './errors.ts';
import type { Expectations } from './expectations.ts';
import type { HostView } from './host.ts';
import type { Naming, Observation } from './observation.ts';
import type { Report } from './report.ts';
import type { GroundTruth } from './truth.ts';

export interface ObserveRequest {
  metrics: readonly string[];
  lingerMetric: string | undefined;
  /** how far back to follow series, for the linger of exits */
  lookbackMs: number;
  /** a series not refreshed for this long counts as gone (the sink) */
  freshMs: number;
}

export interface VerifySource {
  readonly naming: Naming;
  /** @throws SourceError when the source cannot be read */
  observe(request: ObserveRequest): Promise<Observation>;
}

export interface TruthRequest {
  /** readings from this time on (plus the one before) */
  sinceMs: number;
  /** false: the simulation and the metrics only, no processes or exits (cheap) */
  processes: boolean;
}

export interface VerifyRunOptions {
  truth(request: TruthRequest): Promise<GroundTruth>;
  source: VerifySource;
  expectations: Expectations;
  /** the verifier's /proc for PID mapping; undefined: none */
  host: HostView | undefined;
  /** retry until this long after the start @default 0 (one attempt) */
  waitMs?: number;
  /** within the window, retry a source that does not answer (it may still be starting) @default true */
  retryUnreachable?: boolean;
  signal?: AbortSignal;
  /** told about each attempt's report (progress on a terminal) */
  onAttempt?: (report: Report) => void;
}

/**
 * Calls `read` until it answers, while a source that does not answer yet (a simulator or collector
 * still starting) may still come up before `deadlineMs`.
 * @throws the last SourceError once the deadline has passed, any other error at once
 */
export async function untilReachable<T>(
  read: () => Promise<T>,
  deadlineMs: number,
  pauseMs = 1000,
  signal?: AbortSignal,
): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (
        !(error instanceof SourceError) ||
        error.code !== 'unreachable' ||
        Date.now() + pauseMs >= deadlineMs
      )
        throw error;
      await delay(pauseMs, undefined, { signal });
    }
  }
}

/** Series not yet due, over all checks: a reason to look again while the window lasts. */
export function pendingOf(report: Report): number {
  return report.checks.reduce((sum, check) => sum + check.pending, 0);
}

/**
 * Runs the verification. Resolves with the last report (pass or fail).
 * @throws SourceError when the source or the truth could not be read until the window ended
 */
export async function runVerification(options: VerifyRunOptions): Promise<Report> {
  const startedAtMs = Date.now();
  const deadline = startedAtMs + (options.waitMs ?? 0);
  const { expectations } = options;
  const retry = options.retryUnreachable ?? true;
  const outline = await untilReachable(
    () => options.truth({ sinceMs: startedAtMs, processes: false }),
    retry ? deadline : startedAtMs,
    1000,
    options.signal,
  );
  const names = downstreamNames(outline, expectations, options.source.naming);
  // Follow series back far enough to see an exit's whole allowed staleness, and at least 5 minutes.
  const lookbackMs = Math.max(5 * 60_000, 2 * expectations.stalenessMs + expectations.maxDelayMs);
  const pauseMs = Math.min(10_000, Math.max(1000, outline.interval_ms));
  let attempts = 0;
  let firstAttemptAtMs: number | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    attempts++;
    let report: Report;
    try {
      const observation = await options.source.observe({
        metrics: names.metrics,
        lingerMetric: names.lingerMetric,
        lookbackMs,
        freshMs: expectations.maxDelayMs,
      });
      const truth = await options.truth({
        sinceMs: observation.observedAtMs - expectations.maxDelayMs,
        processes: true,
      });
      report = compare({ truth, observation, expectations, host: options.host, startedAtMs, attempts });
    } catch (error) {
      // An unreachable source may come up within the window (a collector still starting).
      if (
        !retry ||
        !(error instanceof SourceError) ||
        error.code !== 'unreachable' ||
        Date.now() + pauseMs >= deadline
      )
        throw error;
      await delay(pauseMs, undefined, { signal: options.signal });
      continue;
    }
    options.onAttempt?.(report);
    firstAttemptAtMs ??= Date.now();
    // Caught up: a pass with nothing pending, or a pass once max_delay has gone by since the first
    // attempt, by when everything that was pending then is due (under churn new processes are always
    // younger than max_delay: waiting for none to be pending would never end).
    const settled = pendingOf(report) === 0 || Date.now() - firstAttemptAtMs >= expectations.maxDelayMs;
    if ((report.verdict === 'pass' && settled) || Date.now() + pauseMs >= deadline) return report;
    await delay(pauseMs, undefined, { signal: options.signal });
  }
}
