/**
 * `process-simulator verify` and POST /verify against the bundled pass-through pipeline: a real
 * simulator with churning processes pushes OTLP to the real collector (otel-collector/config.yaml),
 * which exports to Prometheus (scraped by a real Prometheus), to the simulator's own OTLP sink (gRPC),
 * and to a second collector whose prometheus exporter keeps dead series for 5 minutes (a broken
 * staleness setting). The pass-through passes through Prometheus and through the sink; the broken
 * staleness fails naming the exited PIDs and their linger; bad expectations, unreachable sources and
 * simulators, unknown simulations and bad usage end in exit 2 (the API: 404, 409, 422).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Difference, Report } from '../../src/verify/report.ts';
import { freeCollectorPorts, type RunningCollector, startCollector } from '../helpers/collector.ts';
import { freePort } from '../helpers/ports.ts';
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { differences, runVerify } from '../helpers/verify-cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { call, startApiSimulator } from './api-helpers.ts';

const INTERVAL_MS = 1000;

/** Steady processes of every priority, and jobs that live 3-5 s and are replaced. */
const PROFILE = {
  name: 'passthrough',
  templates: [
    { name: 'db-{i}', count: 2, priority: 'critical' as const, memory: 4, fds: 7 },
    { name: 'api-{i}', count: 2, priority: 'high' as const, cpu: 3, memory: 3, threads: 3 },
    { name: 'cache', count: 1, priority: 'medium' as const, memory: 2 },
    {
      name: 'job-{i}-{g}',
      count: 3,
      priority: 'low' as const,
      lifetime: { min: '3s', max: '5s' },
      restart: 'always' as const,
    },
  ],
};

const otlpExporter = (name: string, port: number) =>
  `  otlp/${name}:\n    endpoint: 127.0.0.1:${port}\n    tls:\n      insecure: true\n`;

describe('verify the pass-through pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-verify-passthrough-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  let simulator: TestSimulator;
  let collectors: RunningCollector[] = [];
  let prometheus: RunningPrometheus;
  let simulation: string;
  let timing: string;

  before(async () => {
    const [first, second] = await Promise.all([freeCollectorPorts(), freeCollectorPorts()]);
    const sinkPort = await freePort();
    collectors = [
      await startCollector({
        ports: first,
        overrides: [
          [
            'exporters:',
            '  prometheus:',
            '    metric_expiration: 3s',
            otlpExporter('next', second.OTLP_GRPC_PORT),
            otlpExporter('sink', sinkPort),
            'service:',
            '  pipelines:',
            '    metrics:',
            '      exporters: [prometheus, otlp/next, otlp/sink]',
            '',
          ].join('\n'),
        ],
      }),
      // The broken one: a dead PID's series stays on its /metrics for 5 minutes.
      await startCollector({
        ports: second,
        overrides: ['exporters:\n  prometheus:\n    metric_expiration: 5m\n'],
      }),
    ];
    simulator = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${first.OTLP_GRPC_PORT}`,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
      OTLP_SINK_GRPC_PORT: String(sinkPort),
    });
    simulation = (await runProfile(simulator.sim, PROFILE, 21)).id;
    const [c1, c2] = collectors as [RunningCollector, RunningCollector];
    prometheus = await startPrometheus([
      { job: 'passthrough', url: c1.metricsUrl },
      { job: 'stale', url: c2.metricsUrl },
    ]);
    timing = file('timing.yaml', 'max_delay: 5s\nstaleness: 20s\n');
    // Jobs have come and gone, and both collectors' series are in Prometheus.
    await waitFor('exits and both jobs in Prometheus', { timeoutMs: 40_000, everyMs: 500 }, async () => {
      const exits = simulator.sim.engine.getSimulation(simulation).exitLog.list();
      const counts = await prometheus.query('count by (job) (process_threads)');
      return exits.filter((exit) => exit.exitedAtMs < Date.now() - 4000).length >= 3 && counts.length === 2;
    });
  });

  after(async () => {
    await prometheus?.stop();
    await simulator?.sim.stop();
    await Promise.all(collectors.map((collector) => collector.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const common = () => ['--simulator', simulator.sim.api.url, '--simulation', simulation];
  const viaPrometheus = (job: string) => [
    ...common(),
    '--prometheus',
    prometheus.url,
    '--selector',
    `job="${job}"`,
  ];

  test('through Prometheus it passes: every process and series, values bracketed, exits gone in time; JUnit written', async () => {
    const junit = join(dir, 'report.xml');
    const run = await runVerify([
      ...viaPrometheus('passthrough'),
      '-e',
      timing,
      '--wait',
      '40s',
      '--json',
      '--junit',
      junit,
    ]);
    assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);
    const report = run.report as Report;
    assert.equal(report.verdict, 'pass');
    assert.ok((report.matching.methods.pid ?? 0) >= 5, JSON.stringify(report.matching));
    assert.ok((report.checks.find((check) => check.name === 'values')?.checked ?? 0) > 40);
    assert.ok(report.linger.exits_checked >= 3, JSON.stringify(report.linger));
    assert.ok((report.linger.max_seconds ?? 0) <= 20, 'exits gone within the staleness');
    assert.match(report.skew, /keeps no read time/);
    // JUnit: well-formed, one test case per check, none failed
    const xml = readFileSync(junit, 'utf8');
    const parsed = execFileSync(
      'python3',
      [
        '-c',
        'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); s = r[0]; print(s.get("tests"), s.get("failures"), len(s.findall("testcase")))',
        junit,
      ],
      { encoding: 'utf8' },
    ).trim();
    assert.equal(parsed, `${report.checks.length} 0 ${report.checks.length}`, xml.slice(0, 500));
    // the text form names the verdict first
    const text = await runVerify([...viaPrometheus('passthrough'), '-e', timing, '--wait', '30s']);
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, /^PASS {2}passthrough-21 /);
  });

  test('through the OTLP sink it passes, from the CLI and from the API, and the API keeps the last report', async () => {
    const run = await runVerify([...common(), '--otlp-sink', '-e', timing, '--wait', '30s', '--json']);
    assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);
    assert.equal(run.report?.source.kind, 'otlp-sink');
    assert.match(run.report?.skew ?? '', /carries the time it was read/);
    const answer = await call<Report>(
      simulator.sim.api.url,
      'POST',
      `/api/v1/simulations/${simulation}/verify`,
      {
        source: { type: 'otlp-sink' },
        expectations: { max_delay: '5s', staleness: '20s' },
        wait: '30s',
      },
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.body.verdict, 'pass', differences(answer.body));
    const last = await call(simulator.sim.api.url, 'GET', `/api/v1/simulations/${simulation}/verification`);
    assert.equal(last.body.report.finished_at, answer.body.finished_at);
  });

  test('a pipeline that keeps dead series too long fails, naming each exited PID and its linger', async () => {
    const stale = file('stale.yaml', 'max_delay: 5s\nstaleness: 3s\n');
    const run = await runVerify([...viaPrometheus('stale'), '-e', stale, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const report = run.report as Report;
    const disappearance = report.checks.find((check) => check.name === 'disappearance');
    assert.equal(disappearance?.passed, false);
    const observedAt = Date.parse(report.source.observed_at);
    const overdue = simulator.sim.engine
      .getSimulation(simulation)
      .exitLog.list()
      .filter((exit) => observedAt - exit.exitedAtMs > 4000);
    assert.ok(overdue.length >= 3);
    assert.ok((disappearance?.differences_total ?? 0) >= overdue.length, differences(report));
    // The report shows the first differences, oldest exit first: each names a real exit and its linger.
    const shown = disappearance?.differences ?? [];
    for (const exit of overdue.slice(0, shown.length)) {
      const named: Difference | undefined = shown.find((d) => d.pid === exit.pid);
      assert.ok(named, `pid ${exit.pid} named: ${differences(report)}`);
      assert.equal(named.name, exit.name);
      assert.equal(named.priority, 'low');
      const linger = Number(
        /still present downstream ([\d.]+) s later; allowed 3 s/.exec(named.message)?.[1],
      );
      assert.ok(Math.abs(linger - (observedAt - exit.exitedAtMs) / 1000) <= 0.2, named.message);
    }
    assert.ok(
      (report.linger.max_seconds ?? 0) > 3 && report.linger.overdue >= overdue.length,
      JSON.stringify(report.linger),
    );
  });

  test('what keeps a verification from running ends in exit 2 with a clear message', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const cases: Array<[string, string[], RegExp]> = [
      ['no source', [...common()], /--prometheus URL or --otlp-sink/],
      ['two sources', [...common(), '--prometheus', prometheus.url, '--otlp-sink'], /one of them/],
      ['bad --wait', [...viaPrometheus('passthrough'), '--wait', 'soon'], /--wait: expected a duration/],
      ['a run flag', [...viaPrometheus('passthrough'), '--profile', 'chaos'], /Unknown option '--profile'/],
      [
        'unreachable Prometheus',
        [...common(), '--prometheus', closed],
        /cannot reach http:\/\/127\.0\.0\.1:\d+\/.*ECONNREFUSED/,
      ],
      [
        'unreachable simulator',
        ['--simulator', closed, '--prometheus', prometheus.url],
        /cannot reach .*ECONNREFUSED/,
      ],
      [
        'unknown simulation',
        ['--simulator', simulator.sim.api.url, '--simulation', 'no-such-id', '--prometheus', prometheus.url],
        /answered 404 .*no simulation with id "no-such-id"/,
      ],
      [
        'a selector Prometheus refuses',
        [...common(), '--prometheus', prometheus.url, '--selector', 'job=~"('],
        /refused \/api\/v1\/query \(bad_data/,
      ],
      [
        'missing expectations file',
        [...viaPrometheus('passthrough'), '-e', join(dir, 'none.yaml')],
        /invalid expectations: file: cannot be read/,
      ],
      [
        'not YAML',
        [...viaPrometheus('passthrough'), '-e', file('bad.yaml', 'drop: [low\n')],
        /is not valid YAML/,
      ],
      [
        'bad fields',
        [
          ...viaPrometheus('passthrough'),
          '-e',
          file('fields.yaml', 'drop:\n  priorities: [urgent]\nstaleness: -1s\ncolour: red\n'),
        ],
        /drop\.priorities\.0: .*"critical"\|"high"\|"medium"\|"low" \(got "urgent"\).*staleness: .*\(got "-1s"\).*colour/,
      ],
    ];
    for (const [what, args, message] of cases) {
      const run = await runVerify(args);
      assert.equal(run.code, 2, `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stderr, /error \(exit 2, nothing was verified\)|process-simulator:/, what);
      assert.match(run.stderr, message, `${what}: ${run.stderr}`);
      assert.equal(run.stdout, '', `${what}: no report`);
    }
  });

  test('the API refuses what it cannot verify: unknown simulation 404, bad expectations 422, unreachable source 422, no sink 409', async () => {
    const base = simulator.sim.api.url;
    const post = (id: string, body: unknown) => call(base, 'POST', `/api/v1/simulations/${id}/verify`, body);
    assert.equal((await post('no-such-id', { source: { type: 'otlp-sink' } })).status, 404);
    const bad = await post(simulation, {
      source: { type: 'otlp-sink' },
      expectations: { drop: { priorities: ['urgent'] } },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.issues[0].field, 'expectations.drop.priorities.0');
    assert.equal(bad.body.error.issues[0].value, 'urgent');
    const unreachable = await post(simulation, {
      source: { type: 'prometheus', url: `http://127.0.0.1:${await freePort()}` },
    });
    assert.equal(unreachable.status, 422);
    assert.equal(unreachable.body.error.code, 'source_unreachable');
    const plain = await startApiSimulator();
    try {
      const id = (
        await call(plain.url, 'POST', '/api/v1/simulations', {
          name: 'x',
          type: 'realistic',
          parameters: { process_count: 1 },
        })
      ).body.id;
      const noSink = await call(plain.url, 'POST', `/api/v1/simulations/${id}/verify`, {
        source: { type: 'otlp-sink' },
      });
      assert.equal(noSink.status, 409);
      assert.equal(noSink.body.error.code, 'sink_not_running');
      assert.equal((await call(plain.url, 'GET', '/api/v1/otlp-sink')).status, 409);
    } finally {
      await plain.stop();
    }
  });
});
