/**
 * `process-simulator fleet`: one verdict over every shard of a run. Finds the shards (URLs, or the DNS
 * name of a headless Service), reads each one's ground truth, adds it up and judges it: every shard
 * present once and of the same run, none failed or cut short. Exit codes: 0 pass, 1 the run failed
 * (a shard missing, unreachable, failed...), 2 bad usage or no shard reachable at all. With
 * --termination-log the verdict is also written where Kubernetes shows it as the Job's message.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readShards, type ShardReading } from '../fleet/collect.ts';
import { fleetJunit, fleetTermination, fleetText } from '../fleet/report.ts';
import { parseShards, shardUrls } from '../fleet/shards.ts';
import {
  type FleetReport,
  fleetVerdict,
  type ShardPipeline,
  type VerdictOptions,
  withPipeline,
} from '../fleet/verdict.ts';
import { parseDuration } from '../profiles/units.ts';
import { SourceError } from '../verify/errors.ts';
import { loadExpectationsFile, validateExpectations } from '../verify/expectations.ts';
import { simulatorApi } from '../verify/sources/simulator-api.ts';
import { UsageError } from './args.ts';
import type { Io } from './commands.ts';
import { verifySimulation } from './verify.ts';

const OPTIONS = {
  shards: { type: 'string' },
  'expect-shards': { type: 'string' },
  'expect-processes': { type: 'string' },
  'expect-state': { type: 'string' },
  'max-skew': { type: 'string' },
  wait: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  junit: { type: 'string' },
  'termination-log': { type: 'string' },
  prometheus: { type: 'string' },
  selector: { type: 'string' },
  'otlp-sink': { type: 'boolean' },
  expectations: { type: 'string', short: 'e' },
} as const;

/** The series of one shard in a Prometheus that holds every shard's (the shard attribute, on the wire). */
const DEFAULT_SELECTOR = 'simulator_shard="{shard}"';

function count(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`--${flag}: expected an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
}

/** The readings each report was made from (the pipeline step verifies those shards). */
const lastReadings = new WeakMap<FleetReport, ShardReading[]>();
const readingsOf = (report: FleetReport) => lastReadings.get(report) ?? [];

export async function fleetCommand(io: Io, argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values.shards) throw new UsageError('fleet needs --shards URL[,URL...] or --shards dns:NAME:PORT');
  if (values.prometheus !== undefined && values['otlp-sink']) {
    throw new UsageError('say where the pipeline delivers: --prometheus URL or --otlp-sink, not both');
  }
  if (values.selector !== undefined && values.prometheus === undefined) {
    throw new UsageError('--selector goes with --prometheus');
  }
  const spec = parseShards(values.shards);
  const expectState = values['expect-state'] ?? 'any';
  if (!['ended', 'running', 'any'].includes(expectState)) {
    throw new UsageError(
      `--expect-state: expected ended, running or any, got ${JSON.stringify(expectState)}`,
    );
  }
  const options: VerdictOptions = {
    expectShards: count('expect-shards', values['expect-shards'], 10_000),
    expectProcesses: count('expect-processes', values['expect-processes'], 10_000_000),
    expectState: expectState as VerdictOptions['expectState'],
    maxSkewMs: duration('max-skew', values['max-skew']),
  };
  const waitMs = duration('wait', values.wait) ?? 0;
  const token = values.token ?? io.env.API_TOKEN;

  // Within --wait, read again until the verdict passes (shards still starting, a Job's shards still
  // running): the last reading is the verdict.
  const deadline = Date.now() + waitMs;
  let report: FleetReport;
  for (;;) {
    const readings = await readShards(await shardUrls(spec), { token });
    report = fleetVerdict(readings, options);
    lastReadings.set(report, readings);
    if (report.pass || Date.now() >= deadline || settledFailure(report, options)) break;
    await delay(Math.min(2000, Math.max(0, deadline - Date.now())));
  }

  if (values.prometheus !== undefined || values['otlp-sink']) {
    report = await verifyPipelines(report, readingsOf(report), {
      prometheus: values.prometheus,
      selector: values.selector ?? DEFAULT_SELECTOR,
      otlpSink: values['otlp-sink'] === true,
      expectations: values.expectations,
      waitMs: Math.max(0, deadline - Date.now()),
      token,
      log: (line) => io.err(`process-simulator fleet: ${line}\n`),
    });
  }
  if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(fleetText(report));
  if (values.junit) writeFileSync(values.junit, fleetJunit(report));
  if (values['termination-log']) writeFileSync(values['termination-log'], fleetTermination(report));
  if (report.totals.shards === 0 && report.shards.every((shard) => !shard.reachable)) {
    io.err('process-simulator: no shard answered: check --shards\n');
    return 2;
  }
  return report.pass ? 0 : 1;
}

/** A failure no more waiting can mend: a shard failed, or (for a finished run) was stopped early. */
function settledFailure(report: FleetReport, options: VerdictOptions): boolean {
  return report.shards.some(
    (shard) => shard.state === 'failed' || (options.expectState === 'ended' && shard.state === 'stopped'),
  );
}

/**
 * Each shard's pipeline verification, as `process-simulator verify` runs it: through a Prometheus that
 * holds every shard's series (one shard selected by `selector`, `{shard}` standing for its index), or
 * through each shard's own OTLP sink. A shard that cannot be verified fails the run, named.
 */
async function verifyPipelines(
  report: FleetReport,
  readings: readonly ShardReading[],
  options: {
    prometheus: string | undefined;
    selector: string;
    otlpSink: boolean;
    expectations: string | undefined;
    waitMs: number;
    token: string | undefined;
    log: (line: string) => void;
  },
): Promise<FleetReport> {
  const file = options.expectations === undefined ? undefined : loadExpectationsFile(options.expectations);
  const expectations = { data: file?.data, validated: file?.expectations ?? validateExpectations(undefined) };
  const startedAtMs = Date.now();
  const shards: ShardPipeline[] = await Promise.all(
    readings
      .filter((reading) => reading.results !== undefined)
      .map(async (reading): Promise<ShardPipeline> => {
        const results = reading.results as NonNullable<ShardReading['results']>;
        const index = results.shard?.index ?? null;
        try {
          const verified = await verifySimulation({
            api: simulatorApi(reading.endpoint, options.token),
            id: results.simulation_id,
            prometheus: options.prometheus,
            selector:
              options.prometheus === undefined
                ? undefined
                : options.selector.replaceAll('{shard}', String(index ?? 0)),
            expectations,
            waitMs: options.waitMs,
            startedAtMs,
            signal: new AbortController().signal,
            log: options.log,
          });
          const failed = verified.checks.filter((check) => !check.passed);
          return {
            index,
            endpoint: reading.endpoint,
            verdict: verified.verdict === 'pass' ? 'pass' : 'fail',
            problems: failed.map((check) => `${check.name}: ${check.summary}`),
            checked: verified.checks.reduce((sum, check) => sum + check.checked, 0),
            failed: verified.checks.reduce((sum, check) => sum + check.failed, 0),
          };
        } catch (error) {
          const why =
            error instanceof SourceError ? error.message : `unexpected: ${(error as Error).message}`;
          return {
            index,
            endpoint: reading.endpoint,
            verdict: 'error',
            problems: [why],
            checked: 0,
            failed: 0,
          };
        }
      }),
  );
  const source = options.prometheus ?? "the shards' OTLP sinks";
  return withPipeline(
    report,
    source,
    shards.sort((a, b) => (a.index ?? 0) - (b.index ?? 0)),
  );
}
