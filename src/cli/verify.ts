/**
 * `process-simulator verify`: checks a collector pipeline against a running simulator's ground truth.
 *
 * --prometheus URL: this process reads the pipeline's output from a Prometheus query API and the
 * ground truth from the simulator's API, and compares them here, where the collector runs: from the
 * collector's side of a PID namespace it can map the PIDs the collector reports through /proc.
 * --otlp-sink: the simulator compares what its own OTLP sink received and answers the report.
 * Either way the report is printed (text, or --json), optionally written as JUnit XML, and handed to
 * the simulator so that its dashboard shows it.
 *
 * Exit codes: 0 the pipeline passed, 1 it differs from the ground truth, 2 the verification could not
 * run (bad usage or expectations, unreachable source or simulator, unknown simulation).
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_PORT } from '../config/defaults.ts';
import { formatDuration, parseDuration } from '../profiles/units.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import { SourceError } from '../verify/errors.ts';
import { type Expectations, loadExpectationsFile, validateExpectations } from '../verify/expectations.ts';
import { procHostView } from '../verify/host.ts';
import { renderJunit } from '../verify/render/junit.ts';
import { renderText } from '../verify/render/text.ts';
import type { Report } from '../verify/report.ts';
import { pendingOf, runVerification, untilReachable } from '../verify/run.ts';
import { observePrometheus } from '../verify/sources/prometheus.ts';
import { type SimulatorApi, simulatorApi } from '../verify/sources/simulator-api.ts';
import { UsageError } from './args.ts';
import type { Io } from './commands.ts';

/** Longest --wait. */
const MAX_WAIT_MS = 24 * 3_600_000;

export interface VerifyFlags {
  simulator: string | undefined;
  simulation: string | undefined;
  prometheus: string | undefined;
  selector: string | undefined;
  otlpSink: boolean;
  expectations: string | undefined;
  wait: string | undefined;
  junit: string | undefined;
  json: boolean;
}

const OPTIONS = {
  simulator: { type: 'string' },
  simulation: { type: 'string' },
  prometheus: { type: 'string' },
  selector: { type: 'string' },
  'otlp-sink': { type: 'boolean' },
  expectations: { type: 'string', short: 'e' },
  wait: { type: 'string', short: 'w' },
  junit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * The flags after `verify`.
 * @throws UsageError naming the unknown flag or the stray argument
 */
export function parseVerifyArgs(argv: readonly string[]): VerifyFlags {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  const values = parsed.values;
  return {
    simulator: values.simulator,
    simulation: values.simulation,
    prometheus: values.prometheus,
    selector: values.selector,
    otlpSink: values['otlp-sink'] === true,
    expectations: values.expectations,
    wait: values.wait,
    junit: values.junit,
    json: values.json === true,
  };
}

/** Exit codes: 0 pass, 1 differences, 2 the verification could not run. */
export async function verifyCommand(io: Io, argv: readonly string[], signal: AbortSignal): Promise<number> {
  try {
    const flags = parseVerifyArgs(argv);
    const report = await verify(io, flags, signal);
    io.out(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
    if (flags.junit) writeReportFile(flags.junit, renderJunit(report));
    return report.verdict === 'pass' ? 0 : 1;
  } catch (error) {
    if (signal.aborted) {
      io.err(`process-simulator verify: interrupted by ${String(signal.reason)}\n`);
      return 2;
    }
    const known =
      error instanceof SourceError || error instanceof ValidationError || error instanceof UsageError;
    io.err(`process-simulator verify: error (exit 2, nothing was verified): ${(error as Error).message}\n`);
    if (error instanceof UsageError) io.err('Try `process-simulator verify --help`.\n');
    if (!known) io.err(`${(error as Error).stack ?? ''}\n`);
    return 2;
  }
}

async function verify(io: Io, flags: VerifyFlags, signal: AbortSignal): Promise<Report> {
  if ((flags.prometheus === undefined) === !flags.otlpSink)
    throw new UsageError('say where the pipeline delivers: --prometheus URL or --otlp-sink (one of them)');
  if (flags.selector !== undefined && flags.prometheus === undefined)
    throw new UsageError('--selector goes with --prometheus');
  let waitMs = 0;
  if (flags.wait !== undefined) {
    try {
      waitMs = parseDuration(flags.wait);
    } catch (error) {
      throw new UsageError(`--wait: ${(error as Error).message}`);
    }
    if (waitMs > MAX_WAIT_MS)
      throw new UsageError(`--wait: at most ${formatDuration(MAX_WAIT_MS)}, got ${flags.wait}`);
  }
  const file = flags.expectations === undefined ? undefined : loadExpectationsFile(flags.expectations);
  const expectations = file?.expectations ?? validateExpectations(undefined);
  const api = simulatorApi(
    flags.simulator ?? `http://127.0.0.1:${io.env.CONTROL_PORT || DEFAULT_CONTROL_PORT}`,
    io.env.API_TOKEN || undefined,
  );
  // Within --wait the simulator may still be starting (a CI job that starts it in the background).
  const startedAtMs = Date.now();
  const id =
    flags.simulation ?? (await untilReachable(() => pickSimulation(api), startedAtMs + waitMs, 1000, signal));
  const progress = (report: Report) => {
    if (flags.json) return;
    const failed = report.checks.filter((check) => !check.passed).map((check) => check.name);
    const pending = pendingOf(report);
    if (report.verdict === 'pass' && pending === 0) return;
    io.err(
      `attempt ${report.attempts}: ${failed.length ? `failing ${failed.join(', ')}` : 'passing'}${pending ? `, ${pending} not yet due` : ''}\n`,
    );
  };

  return verifySimulation({
    api,
    id,
    prometheus: flags.prometheus,
    selector: flags.selector,
    expectations: file
      ? { data: file.data, validated: expectations }
      : { data: undefined, validated: expectations },
    waitMs,
    startedAtMs,
    signal,
    onAttempt: progress,
    log: (line) => io.err(`process-simulator verify: ${line}\n`),
  });
}

export interface VerifySimulationOptions {
  api: SimulatorApi;
  id: string;
  /** a Prometheus query API; undefined: the simulator's own OTLP sink */
  prometheus: string | undefined;
  selector: string | undefined;
  /** the expectations as given (sent to the simulator for the sink) and validated (used here) */
  expectations: { data: unknown; validated: Expectations };
  waitMs: number;
  startedAtMs: number;
  signal: AbortSignal;
  onAttempt?: (report: Report) => void;
  log: (line: string) => void;
}

/**
 * One simulation's verification: through a Prometheus query API compared here (where the collector
 * runs, so its PIDs can be mapped through /proc), or through the simulator's OTLP sink compared there.
 * The report is handed to the simulator for its dashboard. Shared by `verify` and `fleet`.
 * @throws SourceError when the simulator or the source cannot be read (within the wait)
 */
export async function verifySimulation(options: VerifySimulationOptions): Promise<Report> {
  const { api, id, waitMs, startedAtMs, signal } = options;
  if (options.prometheus === undefined) {
    const body = {
      source: { type: 'otlp-sink' as const },
      ...(options.expectations.data !== undefined ? { expectations: options.expectations.data } : {}),
      ...(waitMs > 0 ? { wait: `${waitMs}ms` } : {}),
    };
    return await untilReachable(
      () => api.verify(id, body, waitMs + 120_000),
      startedAtMs + waitMs,
      1000,
      signal,
    );
  }
  const prometheus = options.prometheus;
  const report = await runVerification({
    truth: (request) => api.groundTruth(id, request),
    source: {
      naming: 'prometheus',
      observe: (request) => observePrometheus({ url: prometheus, selector: options.selector }, request),
    },
    expectations: options.expectations.validated,
    host: procHostView(),
    waitMs,
    signal,
    onAttempt: options.onAttempt,
  });
  // Best effort: the dashboard shows the last report; the verdict stands whether it was kept or not.
  await api.putReport(id, trimmed(report)).catch((error: Error) => {
    options.log(`note: the simulator did not keep the report (${error.message})`);
  });
  return report;
}

/** The running simulation when there is exactly one; else the one started last. */
async function pickSimulation(api: SimulatorApi): Promise<string> {
  const simulations = await api.simulations();
  const running = simulations.filter((s) => s.state === 'running' || s.state === 'starting');
  if (running.length === 1) return (running[0] as (typeof running)[number]).id;
  if (running.length > 1)
    throw new UsageError(
      `${running.length} simulations run at ${api.url}: say which with --simulation (${running.map((s) => `${s.id} ${s.name}`).join(', ')})`,
    );
  const started = simulations
    .filter((s) => s.started_at !== null)
    .sort((a, b) => Date.parse(a.started_at ?? '') - Date.parse(b.started_at ?? ''));
  const last = started.at(-1);
  if (!last) throw new UsageError(`the simulator at ${api.url} has no simulation that was started`);
  return last.id;
}

/** The report with fewer differences per check, to fit the simulator's request body limit. */
function trimmed(report: Report): Report {
  return {
    ...report,
    checks: report.checks.map((check) => ({ ...check, differences: check.differences.slice(0, 20) })),
  };
}

/**
 * Writes a report file the user named. Not through a symbolic link: as root in a shared directory, a
 * link planted there would otherwise redirect the write.
 */
function writeReportFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (error) {
    throw new UsageError(`--junit ${path}: cannot write it: ${(error as Error).message}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
