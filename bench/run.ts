/**
 * `npm run bench`: the benchmark of the simulator at scale. Not a test: it runs for minutes, spawns up
 * to tens of thousands of processes and writes its figures to bench/results.md. See `--help`.
 */

import { churnReport, runChurn } from './churn.ts';
import { parseArgs } from './lib/args.ts';
import { describeMachine } from './lib/machine.ts';
import { table, writeSection } from './lib/results.ts';
import { fmt } from './lib/stats.ts';
import { runScale, type ScaleResult } from './scale.ts';
import { runSigkillTrials, sigkillReport } from './sigkill.ts';
import { runVerifyBench, type VerifyBenchResult, verifyReport } from './verify.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

function scaleReport(results: ScaleResult[]): string {
  const columns = (pick: (r: ScaleResult) => string) => results.map(pick);
  const rows: Array<[string, (r: ScaleResult) => string]> = [
    ['running', (r) => fmt(r.running, 0)],
    ['time to reach N from a cold start (s)', (r) => fmt(r.rampSeconds, 1)],
    ['spawn rate (processes/s)', (r) => fmt(r.spawnsPerSecond, 0)],
    ['engine CPU per spawn (ms)', (r) => fmt(r.engineCpuMsPerSpawn, 2)],
    ['idle RSS per simulated process (KiB, smaps_rollup)', (r) => fmt(r.idleRssKiB, 0)],
    ['idle PSS per simulated process (KiB, smaps_rollup)', (r) => fmt(r.idlePssKiB, 0)],
    ['system memory per simulated process (KiB, MemAvailable drop)', (r) => fmt(r.systemKiBPerProcess, 0)],
    ['sampler CPU per full sample (µs per process)', (r) => fmt(r.sampleUsPerProcess, 1)],
    ['sampler CPU, first sample with identities (µs per process)', (r) => fmt(r.firstSampleUsPerProcess, 1)],
    ['sampler wall time per full sample (ms)', (r) => fmt(r.sampleWallMs, 0)],
    ['sampler share of one core at 10 s intervals (%)', (r) => fmt(r.samplerCorePercentAt10s, 2)],
    ['engine CPU at rest, control ticks (% of one core)', (r) => fmt(r.engineIdleCorePercent, 2)],
    ['engine RSS (MiB)', (r) => fmt(r.engineRssMiB, 0)],
    ['engine heap used (MiB)', (r) => fmt(r.engineHeapMiB, 0)],
    ['/metrics size (MiB)', (r) => fmt(r.metricsBytes / 2 ** 20, 2)],
    ['/metrics process series', (r) => fmt(r.metricsSeries, 0)],
    ['/metrics time, curl to last byte (ms)', (r) => fmt(r.metricsMs, 0)],
    ['OTLP data points per export', (r) => fmt(r.otlpDataPoints, 0)],
    ['OTLP requests per export', (r) => fmt(r.otlpRequests, 0)],
    ['OTLP largest request (MiB; collector limit 4)', (r) => fmt(r.otlpMaxRequestBytes / 2 ** 20, 2)],
    ['OTLP bytes per export (MiB)', (r) => fmt(r.otlpTotalBytes / 2 ** 20, 2)],
    ['OTLP export time (ms)', (r) => fmt(r.otlpExportMs, 0)],
    ['OTLP export CPU (ms)', (r) => fmt(r.otlpExportCpuMs, 0)],
    ['C reference reader (µs per process)', (r) => (r.c ? fmt(r.c.usPerProcess, 1) : '-')],
    ['sampler / C reader', (r) => (r.c ? `${fmt(r.c.ratio, 2)}x` : '-')],
    [
      'collector hostmetrics scraper (µs per process)',
      (r) => (r.collector ? fmt(r.collector.usPerProcess, 1) : '-'),
    ],
    ['collector / sampler', (r) => (r.collector ? `${fmt(r.collector.ratio, 1)}x` : '-')],
    [
      'systeminformation.processes() (µs per process listed)',
      (r) => (r.systeminformation ? fmt(r.systeminformation.usPerProcess, 1) : '-'),
    ],
    [
      'systeminformation / sampler',
      (r) => (r.systeminformation ? `${fmt(r.systeminformation.ratio, 1)}x` : '-'),
    ],
    ['pidusage (µs per process)', (r) => (r.pidusage ? fmt(r.pidusage.usPerProcess, 1) : '-')],
    ['pidusage / sampler', (r) => (r.pidusage ? `${fmt(r.pidusage.ratio, 1)}x` : '-')],
    ['stop of all processes (s)', (r) => fmt(r.stopSeconds, 1)],
    ['children left after stop', (r) => fmt(r.leftBehind, 0)],
  ];
  return table(
    ['high-cardinality profile', ...results.map((r) => `${fmt(r.count, 0)} processes`)],
    rows.map(([label, pick]) => [label, ...columns(pick)]),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const heading = (title: string, command: string) =>
    `## ${title}\n\n\`${command}\` on ${date} UTC.\nMachine: ${machine}.\n`;
  log(`machine: ${machine}`);

  if (args.counts) {
    const results: ScaleResult[] = [];
    for (const count of args.counts) {
      log(`counts: ${count} processes`);
      const result = await runScale({
        count,
        repeats: args.repeats,
        compare: args.compare,
        collectorScrapes: args.collectorScrapes,
        collectorIntervalSeconds: args.collectorIntervalSeconds,
        log,
      });
      log(JSON.stringify(result));
      results.push(result);
    }
    const command = `npm run bench -- --counts ${args.counts.join(',')}${args.compare ? '' : ' --no-compare'} --repeats ${args.repeats}`;
    const body = `${heading(`Scale: ${args.counts.map((n) => fmt(n, 0)).join(' / ')} processes`, command)}\n${scaleReport(results)}\n`;
    process.stdout.write(`${body}\n`);
    if (args.write) writeSection(`counts-${args.counts.join('-')}`, body);
  }
  if (args.churnPerSecond !== undefined) {
    log(`churn: ${args.churnPerSecond}/s for ${args.forMs / 1000} s`);
    const result = await runChurn({ perSecond: args.churnPerSecond, durationMs: args.forMs, log });
    const command = `npm run bench -- --churn ${args.churnPerSecond}/s --for ${args.forMs / 1000}s`;
    const body = `${heading(`Churn: ${args.churnPerSecond} starts and exits per second for ${fmt(args.forMs / 60_000, 1)} min`, command)}\n${churnReport(result)}\n`;
    process.stdout.write(`${body}\n`);
    if (args.write) writeSection('churn', body);
  }
  if (args.sigkillTrials !== undefined) {
    log(`sigkill: ${args.sigkillTrials} trials`);
    const result = await runSigkillTrials({ trials: args.sigkillTrials, log });
    const command = `npm run bench -- --sigkill-trials ${args.sigkillTrials}`;
    const body = `${heading(`SIGKILL of the simulator: ${args.sigkillTrials} trials`, command)}\n${sigkillReport(result)}\n`;
    process.stdout.write(`${body}\n`);
    if (args.write) writeSection('sigkill', body);
  }
  if (args.verifyCounts) {
    const results: VerifyBenchResult[] = [];
    for (const count of args.verifyCounts) results.push(await runVerifyBench({ count, log }));
    const command = `npm run bench -- --verify ${args.verifyCounts.join(',')}`;
    const body = `${heading(`Pipeline verification: ${args.verifyCounts.map((n) => fmt(n, 0)).join(' / ')} processes`, command)}\n${verifyReport(results)}\n`;
    process.stdout.write(`${body}\n`);
    if (args.write) writeSection(`verify-${args.verifyCounts.join('-')}`, body);
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
