/**
 * `npm run bench -- --verify N`: the time and memory of one pipeline verification of N processes,
 * through Prometheus and through the OTLP sink. The simulator (high-cardinality profile, 10 s interval)
 * runs in this process and pushes OTLP to the bundled collector (otel-collector/config.yaml), which
 * exports to a Prometheus (scraping every 10 s) and, over OTLP/gRPC, to the simulator's own sink.
 * Once every process is in both, `process-simulator verify` runs as a child process (its wall time,
 * CPU and peak RSS from getrusage of the child), once with --prometheus (the CLI compares; the
 * simulator builds the ground truth) and once with --otlp-sink (the simulator compares).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Report } from '../src/verify/report.ts';
import { freeCollectorPorts, REPO_ROOT, startCollector } from '../test/helpers/collector.ts';
import { freePort } from '../test/helpers/ports.ts';
import { startPrometheus } from '../test/helpers/prometheus.ts';
import { startCommand } from './engine.ts';
import { table } from './lib/results.ts';
import { startBenchSimulator } from './lib/simulator.ts';
import { fmt } from './lib/stats.ts';

export interface VerifyRun {
  wallS: number;
  /** CPU of the verify command (user + system) */
  cliCpuS: number;
  cliMaxRssMiB: number;
  /** CPU of the simulator's process meanwhile (ground truth, sink, comparison, plus its own sampling) */
  simulatorCpuS: number;
  verdict: string;
  attempts: number;
  series: number;
}

export interface VerifyBenchResult {
  count: number;
  prometheus: VerifyRun;
  sink: VerifyRun & { keptSeries: number; simulatorRssMiB: number };
}

const MAIN = join(REPO_ROOT, 'src', 'main.ts');

/**
 * Runs `verify` with `args` as a child; its rusage from Python's getrusage(RUSAGE_CHILDREN). Waited for
 * asynchronously: this process serves the simulator's API the child talks to.
 */
async function measuredVerify(
  args: string[],
): Promise<{ wallS: number; cpuS: number; maxRssMiB: number; report: Report }> {
  const wrapper = `import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss, "code": done.returncode,
  "stdout": done.stdout.decode(), "stderr": done.stderr.decode()[-4000:]}, sys.stdout)`;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      'python3',
      // npm start's Node flags (package.json), so that the command runs as users run it
      ['-c', wrapper, process.execPath, ...startCommand().flags, MAIN, 'verify', ...args],
      { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 },
      (error, out) => (error ? reject(error) : resolve(out)),
    ),
  );
  const measured = JSON.parse(stdout) as {
    wall: number;
    cpu: number;
    maxrss_kib: number;
    code: number;
    stdout: string;
    stderr: string;
  };
  if (measured.code !== 0 && measured.code !== 1)
    throw new Error(`verify exited with ${measured.code}: ${measured.stderr}`);
  return {
    wallS: measured.wall,
    cpuS: measured.cpu,
    maxRssMiB: measured.maxrss_kib / 1024,
    report: JSON.parse(measured.stdout) as Report,
  };
}

const cpuNow = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

export async function runVerifyBench(options: {
  count: number;
  log: (line: string) => void;
}): Promise<VerifyBenchResult> {
  const { count, log } = options;
  const ports = await freeCollectorPorts();
  const sinkPort = await freePort();
  // The collector first: its exporter to the sink retries until the simulator opens it.
  const collector = await startCollector({
    ports,
    overrides: [
      `exporters:\n  prometheus:\n    metric_expiration: 60s\n  otlp/sink:\n    endpoint: 127.0.0.1:${sinkPort}\n    tls:\n      insecure: true\nservice:\n  pipelines:\n    metrics:\n      exporters: [prometheus, otlp/sink]\n`,
    ],
  });
  let bench: Awaited<ReturnType<typeof startBenchSimulator>> | undefined;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    bench = await startBenchSimulator({
      processCount: count,
      otlpEndpoint: `http://127.0.0.1:${ports.OTLP_GRPC_PORT}`,
      intervalMs: 10_000,
      env: {
        OTLP_SINK_GRPC_PORT: String(sinkPort),
        OTLP_SINK_MAX_SERIES: String(Math.max(250_000, count * 12)),
      },
    });
    const { simulator, create } = bench;
    prometheus = await startPrometheus([{ job: 'collector', url: collector.metricsUrl }], 10);
    const query = prometheus.query;
    const prometheusUrl = prometheus.url;
    const simulation = create(7);
    log(`verify: starting ${count} processes`);
    await simulator.engine.startSimulation(simulation.id);
    const deadline = Date.now() + 15 * 60_000;
    for (;;) {
      const [seen] = await query('count(process_threads{job="collector"})');
      const sink = simulator.sink?.store.stats().processes ?? 0;
      log(`verify: ${seen?.value ?? 0} processes in Prometheus, ${sink} in the sink`);
      if ((seen?.value ?? 0) >= count && sink >= count) break;
      if (Date.now() > deadline)
        throw new Error('the pipeline did not deliver every process within 15 minutes');
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
    const common = [
      '--simulator',
      simulator.api.url,
      '--simulation',
      simulation.id,
      '--wait',
      '5m',
      '--json',
    ];

    let cpu = cpuNow();
    const viaPrometheus = await measuredVerify([
      ...common,
      '--prometheus',
      prometheusUrl,
      '--selector',
      'job="collector"',
    ]);
    const prometheusRun: VerifyRun = {
      wallS: viaPrometheus.wallS,
      cliCpuS: viaPrometheus.cpuS,
      cliMaxRssMiB: viaPrometheus.maxRssMiB,
      simulatorCpuS: cpuNow() - cpu,
      verdict: viaPrometheus.report.verdict,
      attempts: viaPrometheus.report.attempts,
      series: viaPrometheus.report.series.reduce((sum, row) => sum + row.observed, 0),
    };
    log(`verify: through Prometheus ${JSON.stringify(prometheusRun)}`);

    cpu = cpuNow();
    const viaSink = await measuredVerify([...common, '--otlp-sink']);
    const sinkRun = {
      wallS: viaSink.wallS,
      cliCpuS: viaSink.cpuS,
      cliMaxRssMiB: viaSink.maxRssMiB,
      simulatorCpuS: cpuNow() - cpu,
      verdict: viaSink.report.verdict,
      attempts: viaSink.report.attempts,
      series: viaSink.report.series.reduce((sum, row) => sum + row.observed, 0),
      keptSeries: simulator.sink?.store.stats().series ?? 0,
      simulatorRssMiB: process.memoryUsage().rss / 2 ** 20,
    };
    log(`verify: through the OTLP sink ${JSON.stringify(sinkRun)}`);
    return { count, prometheus: prometheusRun, sink: sinkRun };
  } finally {
    await prometheus?.stop();
    await bench?.simulator.stop();
    await collector.stop();
  }
}

export function verifyReport(results: VerifyBenchResult[]): string {
  const rows: Array<[string, (r: VerifyBenchResult) => string]> = [
    ['series compared (observed)', (r) => fmt(r.prometheus.series, 0)],
    ['through Prometheus: verdict (attempts)', (r) => `${r.prometheus.verdict} (${r.prometheus.attempts})`],
    ['through Prometheus: wall time of verify (s)', (r) => fmt(r.prometheus.wallS, 1)],
    ['through Prometheus: CPU of verify (s)', (r) => fmt(r.prometheus.cliCpuS, 1)],
    ['through Prometheus: peak RSS of verify (MiB)', (r) => fmt(r.prometheus.cliMaxRssMiB, 0)],
    [
      'through Prometheus: simulator CPU meanwhile (s, ground truth)',
      (r) => fmt(r.prometheus.simulatorCpuS, 1),
    ],
    ['through the OTLP sink: verdict (attempts)', (r) => `${r.sink.verdict} (${r.sink.attempts})`],
    ['through the OTLP sink: wall time of verify (s)', (r) => fmt(r.sink.wallS, 1)],
    ['through the OTLP sink: simulator CPU meanwhile (s, comparison)', (r) => fmt(r.sink.simulatorCpuS, 1)],
    ['through the OTLP sink: series kept by the sink', (r) => fmt(r.sink.keptSeries, 0)],
    ['simulator RSS with the sink full (MiB)', (r) => fmt(r.sink.simulatorRssMiB, 0)],
  ];
  return table(
    ['pipeline verification', ...results.map((r) => `${fmt(r.count, 0)} processes`)],
    rows.map(([label, pick]) => [label, ...results.map(pick)]),
  );
}
