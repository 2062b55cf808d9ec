/**
 * `npm run bench`: the benchmark of the simulator at scale. Not a test: it runs for minutes, spawns up
 * to tens of thousands of processes and writes its figures to bench/results.md. See `--help`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { runSoak, soakReport } from './chaos-soak.ts';
import { churnReport, runChurn } from './churn.ts';
import { engineReport, runEngineBench } from './engine.ts';
import { parseArgs } from './lib/args.ts';
import { describeMachine } from './lib/machine.ts';
import { table, writeSection } from './lib/results.ts';
import { fmt, fmtSpread, type Spread } from './lib/stats.ts';

/** A spread in other units (bytes to MiB). */
const scaled = (value: Spread, factor: number): Spread => ({
  ...value,
  median: value.median * factor,
  min: value.min * factor,
  max: value.max * factor,
});

import { runScale, type ScaleResult } from './scale.ts';
import { runSigkillTrials, sigkillReport } from './sigkill.ts';
import { runVerifyBench, type VerifyBenchResult, verifyReport } from './verify.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

function scaleReport(results: ScaleResult[]): string {
  const columns = (pick: (r: ScaleResult) => string) => results.map(pick);
  // Repeated figures show "median (min-max)" over --repeats; the others are measured once.
  const rows: Array<[string, (r: ScaleResult) => string]> = [
    ['running', (r) => fmt(r.running, 0)],
    ['time to reach N from a cold start (s)', (r) => fmt(r.rampSeconds, 1)],
    ['spawn rate (processes/s)', (r) => fmt(r.spawnsPerSecond, 0)],
    ['engine CPU per spawn (ms)', (r) => fmt(r.engineCpuMsPerSpawn, 2)],
    ['idle RSS per simulated process (KiB, smaps_rollup median)', (r) => fmt(r.idleRssKiB, 0)],
    ['idle PSS per simulated process (KiB, smaps_rollup median)', (r) => fmt(r.idlePssKiB, 0)],
    [
      'system memory per simulated process (KiB, MemAvailable drop, incl. the engine and the OTLP sink)',
      (r) => fmt(r.systemKiBPerProcess, 0),
    ],
    [
      'system memory per simulated process (KiB, the same less the engine and sink RSS growth)',
      (r) => fmt(r.systemKiBPerProcessAlone, 0),
    ],
    ['sampler CPU per full sample (µs per process)', (r) => fmtSpread(r.sampleUsPerProcess, 1)],
    [
      'sampler CPU per full sample, every optional metric on (µs per process; status and each thread’s status read)',
      (r) => fmtSpread(r.optionalSampleUsPerProcess, 1),
    ],
    ['sampler CPU, first sample with identities (µs per process)', (r) => fmt(r.firstSampleUsPerProcess, 1)],
    ['sampler wall time per full sample (ms)', (r) => fmtSpread(r.sampleWallMs, 0)],
    ['sampler share of one core at 10 s intervals (%, median)', (r) => fmt(r.samplerCorePercentAt10s, 2)],
    ['engine CPU at rest, control ticks (% of one core)', (r) => fmt(r.engineIdleCorePercent, 2)],
    [
      'engine RSS after the samples, exports and scrapes, garbage included (MiB)',
      (r) => fmt(r.engineRssMiB, 0),
    ],
    ['engine heap used (MiB)', (r) => fmt(r.engineHeapMiB, 0)],
    ['/metrics size (MiB)', (r) => fmt(r.metricsBytes / 2 ** 20, 2)],
    ['/metrics process series', (r) => fmt(r.metricsSeries, 0)],
    ['/metrics time, curl to last byte (ms)', (r) => fmtSpread(r.metricsMs, 0)],
    ['OTLP data points per export', (r) => fmt(r.otlpDataPoints, 0)],
    ['OTLP requests per export', (r) => fmtSpread(r.otlpRequests, 0)],
    ['OTLP largest request (MiB; collector limit 4)', (r) => fmt(r.otlpMaxRequestBytes / 2 ** 20, 2)],
    ['OTLP bytes per export (MiB)', (r) => fmtSpread(scaled(r.otlpTotalBytes, 2 ** -20), 2)],
    ['OTLP export time (ms)', (r) => fmtSpread(r.otlpExportMs, 0)],
    ['OTLP export CPU (ms)', (r) => fmtSpread(r.otlpExportCpuMs, 0)],
    [
      'C reference reader, same four files (µs per process, every file of every process read)',
      (r) => (r.c ? fmtSpread(r.c.usPerProcess, 1) : '-'),
    ],
    ['sampler / C reader (medians)', (r) => (r.c ? `${fmt(r.c.ratio, 2)}x` : '-')],
    [
      'collector hostmetrics scraper, whole scrape per process kept (µs; filter checked to keep N)',
      (r) => (r.collector ? fmtSpread(r.collector.usPerProcess, 1) : '-'),
    ],
    ['collector / sampler (medians)', (r) => (r.collector ? `${fmt(r.collector.ratio, 1)}x` : '-')],
    [
      'systeminformation.processes(), cache waited out (µs per process listed, host-wide)',
      (r) => (r.systeminformation ? fmtSpread(r.systeminformation.usPerProcess, 1) : '-'),
    ],
    [
      'systeminformation / sampler (medians)',
      (r) => (r.systeminformation ? `${fmt(r.systeminformation.ratio, 1)}x` : '-'),
    ],
    [
      'pidusage, /proc/PID/stat only (µs per process)',
      (r) => (r.pidusage ? fmtSpread(r.pidusage.usPerProcess, 1) : '-'),
    ],
    [
      'pidusage (stat only) / sampler (four files), medians',
      (r) => (r.pidusage ? `${fmt(r.pidusage.ratio, 1)}x` : '-'),
    ],
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
  if (args.chaosSoakMs !== undefined) {
    log(`chaos soak for ${args.chaosSoakMs / 1000} s`);
    const result = await runSoak({ durationMs: args.chaosSoakMs, log });
    const command = `npm run bench -- --chaos-soak ${args.chaosSoakMs / 60_000}m`;
    const body = `${heading(`Chaos soak: ${fmt(args.chaosSoakMs / 60_000, 1)} min`, command)}
${soakReport(result)}
`;
    process.stdout.write(`${body}
`);
    if (args.write) writeSection('chaos-soak', body);
    if (result.crashes.length > 0) log(`crashes:\n${result.crashes.join('\n')}`);
  }
  if (args.sigkillTrials !== undefined) {
    log(`sigkill: ${args.sigkillTrials} trials`);
    const result = await runSigkillTrials({ trials: args.sigkillTrials, log });
    const command = `npm run bench -- --sigkill-trials ${args.sigkillTrials}`;
    const body = `${heading(`SIGKILL of the simulator: ${args.sigkillTrials} trials`, command)}\n${sigkillReport(result)}\n`;
    process.stdout.write(`${body}\n`);
    if (args.write) writeSection('sigkill', body);
  }
  if (args.otlpShapeCount !== undefined) {
    // A child of its own, so that its CPU is the export's alone (bench/otlp-shape.ts).
    const script = fileURLToPath(new URL('./otlp-shape.ts', import.meta.url));
    const options = [
      String(args.otlpShapeCount),
      String(args.repeats),
      ...(args.write ? [] : ['--no-write']),
    ];
    log(`otlp-shape: ${args.otlpShapeCount} synthetic processes, ${args.repeats} exports per shape`);
    execFileSync(process.execPath, [...process.execArgv, script, ...options], { stdio: 'inherit' });
  }
  if (args.engineCount !== undefined) {
    const forMs = args.forGiven ? args.forMs : 60_000;
    log(`engine: ${args.engineCount} processes, ${forMs / 1000} s measured`);
    const result = await runEngineBench({ count: args.engineCount, forMs, log });
    log(JSON.stringify(result));
    const command = `npm run bench -- --engine ${args.engineCount} --for ${forMs / 1000}s`;
    const body = `${heading(`Whole engine: ${fmt(args.engineCount, 0)} processes, CPU per part from a profile`, command)}\n${engineReport(result)}\n`;
    process.stdout.write(`${body}\n`);
    if (args.write) writeSection(`engine-${args.engineCount}`, body);
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
