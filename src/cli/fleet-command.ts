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
import { readShards } from '../fleet/collect.ts';
import { fleetJunit, fleetTermination, fleetText } from '../fleet/report.ts';
import { parseShards, shardUrls } from '../fleet/shards.ts';
import { type FleetReport, fleetVerdict, type VerdictOptions } from '../fleet/verdict.ts';
import { parseDuration } from '../profiles/units.ts';
import { UsageError } from './args.ts';
import type { Io } from './commands.ts';

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
} as const;

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

export async function fleetCommand(io: Io, argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values.shards) throw new UsageError('fleet needs --shards URL[,URL...] or --shards dns:NAME:PORT');
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
    if (report.pass || Date.now() >= deadline || settledFailure(report, options)) break;
    await delay(Math.min(2000, Math.max(0, deadline - Date.now())));
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
