/**
 * A real collector configuration, reused as it is: the collector runs it (its hostmetrics receiver's
 * process scraper, with its own metric and attribute switches), and the simulator reads the same file
 * as METRICS_CONFIG. Per PID both emit the same metrics and the same process attributes: the ones the
 * file turns on, the receiver's defaults for what it leaves out, none it turns off.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { type FlatPoint, readFilePoints } from '../helpers/otlp-json.ts';
import { scrape } from '../helpers/prom-text.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'psim-metrics-config-'));
const receiverFile = join(dir, 'receiver-out.json');
const simulatorFile = join(dir, 'simulator-out.json');
const configFile = join(dir, 'collector.yaml');

/** A whole collector configuration as a user would write it; nothing in it is for the simulator. */
const COLLECTOR_YAML = `receivers:
  hostmetrics:
    collection_interval: ${INTERVAL_MS}ms
    scrapers:
      process:
        include:
          match_type: regexp
          names: ['^mc-']
        mute_process_exe_error: true
        mute_process_io_error: true
        mute_process_user_error: true
        metrics:
          process.cpu.utilization:
            enabled: true
          process.memory.utilization:
            enabled: true
          process.signals_pending:
            enabled: true
          process.memory.virtual:
            enabled: false
        resource_attributes:
          process.cgroup:
            enabled: true
          process.owner:
            enabled: false
exporters:
  file:
    path: ${JSON.stringify(receiverFile)}
    flush_interval: 200ms
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: \${env:COLLECTOR_TELEMETRY_PORT}
  pipelines:
    metrics:
      receivers: [hostmetrics]
      exporters: [file]
`;

const EXPECTED_METRICS = [
  'process.cpu.time',
  'process.cpu.utilization',
  'process.disk.io',
  'process.memory.usage',
  'process.memory.utilization',
  'process.signals_pending',
];
const EXPECTED_ATTRIBUTES = [
  'process.cgroup',
  'process.command',
  'process.command_line',
  'process.executable.name',
  'process.executable.path',
  'process.parent_pid',
  'process.pid',
];

let receiver: RunningCollector;
let pipeline: RunningCollector;
let simulator: TestSimulator;
let pids: number[] = [];

before(async () => {
  writeFileSync(configFile, COLLECTOR_YAML);
  pipeline = await startCollector({
    overrides: [
      `exporters:\n  file/out:\n    path: ${JSON.stringify(simulatorFile)}\n    flush_interval: 200ms\nservice:\n  pipelines:\n    metrics:\n      exporters: [file/out]\n`,
    ],
  });
  simulator = await startTestSimulator({
    AUTO_START: 'false',
    SIMULATION_ATTRIBUTES: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: pipeline.otlpGrpcEndpoint,
    OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    METRICS_CONFIG: configFile,
  });
  await runProfile(simulator.sim, {
    name: 'metrics-config',
    templates: [
      { name: 'mc-idle', count: 2, priority: 'low', memory: 4 },
      { name: 'mc-busy', count: 1, priority: 'low', cpu: 3, threads: 2 },
    ],
  });
  pids = simulator.sim.engine.liveProcesses().map((p) => p.pid);
  receiver = await startCollector({ base: configFile });
});

after(async () => {
  await simulator?.sim.stop();
  await receiver?.stop();
  await pipeline?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Per PID: the metric names and the process.* Resource keys seen. */
function shapeOf(points: FlatPoint[], pid: number): { metrics: string[]; attributes: string[] } {
  const mine = points.filter((p) => p.resource['process.pid'] === pid);
  return {
    metrics: [...new Set(mine.map((p) => p.metric))].sort(),
    attributes: [...new Set(mine.flatMap((p) => Object.keys(p.resource)))]
      .filter((key) => key.startsWith('process.'))
      .sort(),
  };
}

test('the same collector file switches the same metrics and attributes on both sides', async () => {
  assert.equal(pids.length, 3);
  let receiverPoints: FlatPoint[] = [];
  let simulatorPoints: FlatPoint[] = [];
  // utilization appears from a process's second reading on: wait until both sides have it for every PID
  await waitFor('both files to hold every metric of every PID', { timeoutMs: 30_000, everyMs: 500 }, () => {
    receiverPoints = readFilePoints(receiverFile);
    simulatorPoints = readFilePoints(simulatorFile);
    return pids.every(
      (pid) =>
        shapeOf(receiverPoints, pid).metrics.length === EXPECTED_METRICS.length &&
        shapeOf(simulatorPoints, pid).metrics.length === EXPECTED_METRICS.length,
    );
  });
  for (const pid of pids) {
    const theirs = shapeOf(receiverPoints, pid);
    const mine = shapeOf(simulatorPoints, pid);
    assert.deepEqual(
      theirs,
      { metrics: EXPECTED_METRICS, attributes: EXPECTED_ATTRIBUTES },
      `receiver, pid ${pid}`,
    );
    assert.deepEqual(mine, theirs, `simulator, pid ${pid}`);
  }
  // the simulator's own /metrics follows the same file
  const families = [...(await scrape(simulator.metricsUrl)).keys()]
    .filter((name) => name.startsWith('process_'))
    .sort();
  assert.deepEqual(families, [
    'process_cpu_time_seconds_total',
    'process_cpu_utilization_ratio',
    'process_disk_io_bytes_total',
    'process_memory_usage_bytes',
    'process_memory_utilization_ratio',
    'process_signals_pending',
  ]);
  // what the file holds for the receiver alone is said once, not applied
  assert.ok(
    simulator.lines.some(
      (line) => line.includes('METRICS_CONFIG') && line.includes('mute_process_exe_error'),
    ),
    'the receiver-only settings are logged',
  );
});
