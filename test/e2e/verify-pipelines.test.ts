/**
 * `process-simulator verify` against the example pipelines, each a real collector (the second bundled
 * build, with the filter, transform and attributes processors) scraped by a real Prometheus, fed by a
 * real simulator through a fan-out collector: the priority filter and the per-name aggregation pass with
 * their shipped expectations; without the filter's declaration the verification fails and names the
 * low-priority series it misses; a pipeline that renames and removes attributes without declaring it
 * fails naming each attribute, through Prometheus and through the OTLP sink's HTTP receiver (the
 * collector's otlphttp exporter), and passes once they are declared. All of it for both shapes of the
 * simulator's push: one Resource per process (the default) and the attributes on the data points.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Difference, Report } from '../../src/verify/report.ts';
import {
  freeCollectorPorts,
  PIPELINE_CONFIG,
  PIPELINES_COLLECTOR_BINARY,
  PIPELINES_DIR,
  type RunningCollector,
  startCollector,
} from '../helpers/collector.ts';
import { freePort } from '../helpers/ports.ts';
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { differences, runVerify } from '../helpers/verify-cli.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 1000;

/** Every priority; three processes share the name `web` (one series per name after aggregation). */
const PROFILE = {
  name: 'pipelines',
  templates: [
    { name: 'db-{i}', count: 2, priority: 'critical' as const, memory: 6, fds: 8 },
    { name: 'web', count: 3, priority: 'high' as const, cpu: 2, memory: 3, threads: 3, fds: 5 },
    { name: 'cron-{i}', count: 2, priority: 'medium' as const, memory: 2 },
    { name: 'batch-{i}', count: 3, priority: 'low' as const, cpu: 1, memory: 2, threads: 2 },
  ],
};
const LOW = 3;
const NOT_LOW = 7;

/** The fan-out: the shipped pass-through collector without its own processing, to three OTLP exporters. */
function fanOut(targets: Record<string, number>): string {
  const exporters = Object.entries(targets)
    .map(
      ([name, port]) => `  otlp/${name}:\n    endpoint: 127.0.0.1:${port}\n    tls:\n      insecure: true\n`,
    )
    .join('');
  return [
    'processors:',
    '  batch:',
    '    timeout: 200ms',
    'exporters:',
    exporters.trimEnd(),
    'service:',
    '  pipelines:',
    '    metrics:',
    '      processors: [batch]',
    `      exporters: [${Object.keys(targets)
      .map((name) => `otlp/${name}`)
      .join(', ')}]`,
    '',
  ].join('\n');
}

/**
 * A pass-through pipeline that renames process.owner to owner and removes process.command_line: on the
 * Resource, where the simulator puts them by default, and on the data points (OTLP_PROCESS_ATTRIBUTES=
 * datapoint). The renamed attribute becomes a label like the process.* ones.
 */
function renaming(sinkHttpPort: number): string {
  const actions = `
      - key: owner
        from_attribute: process.owner
        action: insert
      - key: process.owner
        action: delete
      - key: process.command_line
        action: delete`;
  return `
processors:
  attributes/rename:
    actions:${actions}
  resource/rename:
    attributes:${actions}
exporters:
  prometheus:
    resource_constant_labels:
      included: ['process.*', 'simulator.*', 'owner']
  otlphttp/sink:
    endpoint: http://127.0.0.1:${sinkHttpPort}
    tls:
      insecure: true
service:
  pipelines:
    metrics:
      processors: [memory_limiter, batch, attributes/rename, resource/rename, groupbyattrs]
      exporters: [prometheus, otlphttp/sink]
`;
}

// Both shapes of the simulator's push: the pipelines take either (OTLP_PROCESS_ATTRIBUTES).
for (const shape of ['resource', 'datapoint'] as const)
  describe(`verify against the example pipelines, OTLP_PROCESS_ATTRIBUTES=${shape}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'psim-verify-pipelines-'));
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    let simulator: TestSimulator;
    let collectors: RunningCollector[] = [];
    let prometheus: RunningPrometheus;
    let simulation: string;

    before(async () => {
      const [filterPorts, aggregatePorts, renamePorts, fanPorts] = await Promise.all([
        freeCollectorPorts(),
        freeCollectorPorts(),
        freeCollectorPorts(),
        freeCollectorPorts(),
      ]);
      const sinkHttpPort = await freePort();
      const pipelines = { binary: PIPELINES_COLLECTOR_BINARY };
      collectors = await Promise.all([
        startCollector({
          ...pipelines,
          base: join(PIPELINES_DIR, 'filter-priority.yaml'),
          ports: filterPorts,
        }),
        startCollector({
          ...pipelines,
          base: join(PIPELINES_DIR, 'aggregate-name.yaml'),
          ports: aggregatePorts,
        }),
        startCollector({
          ...pipelines,
          base: PIPELINE_CONFIG,
          ports: renamePorts,
          overrides: [renaming(sinkHttpPort)],
        }),
      ]);
      collectors.push(
        await startCollector({
          ports: fanPorts,
          overrides: [
            fanOut({
              filter: filterPorts.OTLP_GRPC_PORT,
              aggregate: aggregatePorts.OTLP_GRPC_PORT,
              rename: renamePorts.OTLP_GRPC_PORT,
            }),
          ],
        }),
      );
      simulator = await startTestSimulator({
        AUTO_START: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${fanPorts.OTLP_GRPC_PORT}`,
        OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
        OTLP_SINK_HTTP_PORT: String(sinkHttpPort),
        OTLP_PROCESS_ATTRIBUTES: shape,
      });
      simulation = (await runProfile(simulator.sim, PROFILE, 11)).id;
      const [filter, aggregate, rename] = collectors as [
        RunningCollector,
        RunningCollector,
        RunningCollector,
      ];
      prometheus = await startPrometheus([
        { job: 'filter', url: filter.metricsUrl },
        { job: 'aggregate', url: aggregate.metricsUrl },
        { job: 'rename', url: rename.metricsUrl },
      ]);
      await waitFor('every pipeline in Prometheus', { timeoutMs: 30_000, everyMs: 500 }, async () => {
        const counts = await prometheus.query('count by (job) (process_threads)');
        return counts.length === 3;
      });
      await waitFor('every process in the OTLP sink', { timeoutMs: 30_000, everyMs: 500 }, async () => {
        const sink = (await (await fetch(`${simulator.sim.api.url}/api/v1/otlp-sink`)).json()) as {
          processes: number;
        };
        return sink.processes >= PROFILE.templates.reduce((sum, template) => sum + template.count, 0);
      });
    });

    after(async () => {
      await prometheus?.stop();
      await simulator?.sim.stop();
      await Promise.all(collectors.map((collector) => collector.stop()));
      rmSync(dir, { recursive: true, force: true });
    });

    const common = () => ['--simulator', simulator.sim.api.url, '--simulation', simulation, '--json'];
    const viaPrometheus = (job: string) => [
      ...common(),
      '--prometheus',
      prometheus.url,
      '--selector',
      `job="${job}"`,
    ];
    /** Defaults but for the delay: the processes here are seconds old, not half a minute. */
    const timing = () => file('timing.yaml', 'max_delay: 5s\n');

    test('the priority filter passes with its shipped expectations', async () => {
      const run = await runVerify([
        ...viaPrometheus('filter'),
        '-e',
        join(PIPELINES_DIR, 'filter-priority.expect.yaml'),
        '--wait',
        '40s',
      ]);
      assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);
      assert.equal(run.report?.verdict, 'pass');
      assert.equal(
        run.report?.matching.methods.pid,
        NOT_LOW,
        'every process but the low ones, matched by PID',
      );
      const rows = run.report?.series ?? [];
      assert.ok(
        rows.length > 0 && rows.every((row) => row.priority !== 'low' && row.observed === row.expected),
        JSON.stringify(rows),
      );
      // the simulator keeps the report for its dashboard
      const last = (await (
        await fetch(`${simulator.sim.api.url}/api/v1/simulations/${simulation}/verification`)
      ).json()) as { report: Report };
      assert.equal(last.report.verdict, 'pass');
      assert.equal(last.report.source.kind, 'prometheus');
    });

    test('without the filter’s declaration it fails and names every missing low-priority series', async () => {
      // Only processes older than max_delay (5 s here) are due: a younger one missing is not yet a difference.
      const oldest = Math.max(...simulator.sim.engine.processesOf(simulation).map((p) => p.startedAtMs));
      await waitFor(
        'every process older than max_delay',
        { timeoutMs: 10_000, everyMs: 200 },
        () => Date.now() - oldest > 6000,
      );
      const run = await runVerify([...viaPrometheus('filter'), '-e', timing()]);
      assert.equal(run.code, 1, run.stderr);
      const presence = run.report?.checks.find((check) => check.name === 'presence');
      assert.equal(presence?.passed, false);
      const lows = simulator.sim.engine.processesOf(simulation).filter((p) => p.priority === 'low');
      assert.equal(lows.length, LOW);
      // 9 series per process (cpu x3, disk x2, memory x2, threads, fds), each named
      assert.equal(presence?.differences_total, LOW * 9, differences(run.report));
      for (const process of lows) {
        const named: Difference[] =
          presence?.differences.filter(
            (d) => d.pid === process.pid && d.priority === 'low' && d.name === process.name,
          ) ?? [];
        assert.equal(named.length, 9, `pid ${process.pid} ${process.name}: ${differences(run.report)}`);
        assert.ok(named.some((d) => d.metric === 'process_threads'));
      }
      assert.ok(
        run.report?.checks
          .filter((check) => !check.passed)
          .every((check) => ['presence', 'series-counts'].includes(check.name)),
      );
      assert.match(
        run.stdout,
        /"message": "pid \d+ batch-\d \(low\): no process_memory_usage_bytes series downstream"/,
      );
    });

    test('the per-name aggregation passes with its shipped expectations', async () => {
      const run = await runVerify([
        ...viaPrometheus('aggregate'),
        '-e',
        join(PIPELINES_DIR, 'aggregate-name.expect.yaml'),
        '--wait',
        '40s',
      ]);
      assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);
      const threads = run.report?.series.filter((row) => row.metric === 'process_threads') ?? [];
      // one series per name and priority: db-1, db-2, web, cron-1, cron-2, batch-1..3
      assert.equal(
        threads.reduce((sum, row) => sum + row.observed, 0),
        2 + 1 + 2 + 3,
        JSON.stringify(threads),
      );
      const values = run.report?.checks.find((check) => check.name === 'values');
      assert.ok((values?.checked ?? 0) > 0, 'the sums were compared');
    });

    test('an undeclared rename and removal fail naming each attribute, through Prometheus and the OTLP sink', async () => {
      const viaSink = [...common(), '--otlp-sink'];
      const cases: Array<[string, string[], string, string]> = [
        ['prometheus', viaPrometheus('rename'), 'process_owner', 'process_command_line'],
        ['otlp sink', viaSink, 'process.owner', 'process.command_line'],
      ];
      for (const [label, args, owner, commandLine] of cases) {
        // One attempt: the data is there (see before), and a failing verification would retry to the end.
        const run = await runVerify([...args, '-e', timing()]);
        assert.equal(run.code, 1, `${label}: ${run.stderr}`);
        const shape = run.report?.checks.find((check) => check.name === 'shape');
        const named = (kind: string, attribute: string): boolean =>
          shape?.differences.some((d) => d.kind === kind && d.attribute === attribute) ?? false;
        assert.ok(named('attribute-missing', owner), `${label}: ${differences(run.report)}`);
        assert.ok(named('attribute-missing', commandLine), `${label}: ${differences(run.report)}`);
        assert.ok(named('attribute-unexpected', 'owner'), `${label}: ${differences(run.report)}`);
      }
      const declared = file(
        'rename.yaml',
        'max_delay: 5s\nattributes:\n  renamed: { process.owner: owner }\n  removed: [process.command_line]\n',
      );
      for (const args of [viaPrometheus('rename'), viaSink]) {
        const run = await runVerify([...args, '-e', declared, '--wait', '30s']);
        assert.equal(run.code, 0, `${args.join(' ')}: ${differences(run.report)}\n${run.stderr}`);
      }
    });
  });
