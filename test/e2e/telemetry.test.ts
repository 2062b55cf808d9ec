/**
 * What a user of the simulator sees: /metrics scraped over HTTP and OTLP received by a real gRPC
 * server on loopback, compared with /proc.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';
import { type ExportRequest, type OtlpSink, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { fdCount, procStatus } from '../helpers/proc.ts';
import { parsePrometheusText } from '../helpers/prom-text.ts';
import { samplesOf } from '../helpers/series.ts';
import { waitUntil } from '../helpers/wait.ts';

const PROCESS_LABELS = [
  'process_pid',
  'process_parent_pid',
  'process_executable_name',
  'process_executable_path',
  'process_command',
  'process_command_line',
  'process_owner',
];
const SIMULATION_LABELS = [
  'simulator_priority',
  'simulator_profile',
  'simulator_simulation_id',
  'simulator_cpu_pattern',
  'simulator_memory_pattern',
];

let sink: OtlpSink;
let simulator: RunningSimulator;
const silent = createLogger('error', () => {});

before(async () => {
  sink = await startOtlpSink();
  simulator = await startSimulator(
    loadConfig({
      PROFILE: 'realistic',
      PROCESS_COUNT: '12',
      SEED: '11',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      CONTROL_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    }),
    silent,
  );
});
after(async () => {
  await simulator?.stop();
  await sink?.close();
});

async function scrape(url = simulator.telemetry.prometheusUrl as string) {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return parsePrometheusText(await response.text());
}

test('/metrics has the collector prometheus exporter names, types and labels for every live process', async () => {
  // A worker creates its threads and fds in its first milliseconds; compare once they are in place and
  // a sample has been taken after that, so /metrics and /proc describe the same moment.
  const settled = () =>
    simulator.engine
      .liveProcesses()
      .every(
        (p) => Number(procStatus(p.pid)?.Threads) === p.targets.threads && fdCount(p.pid) === p.targets.fds,
      );
  assert.ok(await waitUntil(settled, 5000), 'workers hold their thread and fd counts');
  await simulator.sampler.sampleNow();
  const families = await scrape();
  const expected: Record<string, string> = {
    process_cpu_time_seconds_total: 'counter',
    process_memory_usage_bytes: 'gauge',
    process_memory_virtual_bytes: 'gauge',
    process_disk_io_bytes_total: 'counter',
    process_threads: 'gauge',
    process_open_file_descriptors: 'gauge',
  };
  for (const [name, type] of Object.entries(expected)) {
    const family = families.get(name);
    assert.ok(family, `family ${name} present (have ${[...families.keys()].join(', ')})`);
    assert.equal(family.type, type, `${name} TYPE`);
  }
  const live = simulator.engine.liveProcesses();
  assert.equal(live.length, 12);
  for (const info of live) {
    const threads = samplesOf(families, 'process_threads', { process_pid: String(info.pid) });
    assert.equal(threads.length, 1, `one process_threads series for ${info.name} (${info.pid})`);
    const labels = (threads[0] as { labels: Record<string, string> }).labels;
    for (const key of [...PROCESS_LABELS, ...SIMULATION_LABELS])
      assert.ok(key in labels, `label ${key} on ${info.pid}`);
    assert.equal(labels.process_executable_name, info.name);
    assert.equal(labels.process_parent_pid, String(process.pid));
    assert.equal(labels.simulator_priority, info.priority);
    assert.equal(threads[0]?.value, Number(procStatus(info.pid)?.Threads));
    const fds = samplesOf(families, 'process_open_file_descriptors', { process_pid: String(info.pid) });
    assert.equal(fds[0]?.value, fdCount(info.pid));
    const cpu = samplesOf(families, 'process_cpu_time_seconds_total', { process_pid: String(info.pid) });
    assert.deepEqual(cpu.map((s) => s.labels.state).sort(), ['system', 'user', 'wait']);
    const io = samplesOf(families, 'process_disk_io_bytes_total', { process_pid: String(info.pid) });
    assert.deepEqual(io.map((s) => s.labels.direction).sort(), ['read', 'write']);
  }
  // the simulator's own metrics sit beside them
  assert.equal(
    samplesOf(families, 'simulator_processes').reduce((sum, s) => sum + s.value, 0),
    12,
  );
  assert.ok(samplesOf(families, 'simulator_process_starts_total').length > 0);
});

test('OTLP carries hostmetrics names, units, types, integer values and the process start as start time', async () => {
  const request = await sink.waitFor((r) => pointsOf(r, 'process.threads').length >= 12);
  const metricShapes = new Map<
    string,
    { unit: string; data: string | undefined; monotonic?: boolean; temporality?: string; valueKind?: string }
  >();
  for (const rm of request.resource_metrics) {
    for (const sm of rm.scope_metrics) {
      for (const metric of sm.metrics) {
        const points = metric.sum?.data_points ?? metric.gauge?.data_points ?? [];
        metricShapes.set(metric.name, {
          unit: metric.unit,
          data: metric.data,
          monotonic: metric.sum?.is_monotonic,
          temporality: metric.sum?.aggregation_temporality,
          valueKind: points[0]?.value,
        });
      }
    }
  }
  const expected = {
    'process.cpu.time': {
      unit: 's',
      data: 'sum',
      monotonic: true,
      temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      valueKind: 'as_double',
    },
    'process.memory.usage': {
      unit: 'By',
      data: 'sum',
      monotonic: false,
      temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      valueKind: 'as_int',
    },
    'process.memory.virtual': {
      unit: 'By',
      data: 'sum',
      monotonic: false,
      temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      valueKind: 'as_int',
    },
    'process.disk.io': {
      unit: 'By',
      data: 'sum',
      monotonic: true,
      temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      valueKind: 'as_int',
    },
    'process.threads': {
      unit: '{threads}',
      data: 'sum',
      monotonic: false,
      temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      valueKind: 'as_int',
    },
    'process.open_file_descriptors': {
      unit: '{count}',
      data: 'sum',
      monotonic: false,
      temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
      valueKind: 'as_int',
    },
  };
  for (const [name, shape] of Object.entries(expected)) assert.deepEqual(metricShapes.get(name), shape, name);

  const resource = Object.fromEntries(
    (request.resource_metrics[0]?.resource.attributes ?? []).map((kv) => [kv.key, kv.value.string_value]),
  );
  assert.equal(resource['service.name'], 'process-simulator');
  assert.ok(resource['host.name']);
  assert.equal(resource['os.type'], 'linux');

  const btime = Number(/^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  for (const { attributes, point } of pointsOf(request, 'process.memory.usage')) {
    const pid = attributes['process.pid'] as number;
    assert.equal(typeof pid, 'number', 'process.pid is an int attribute');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const starttime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const startNs = (btime * 100 + starttime) * 10_000_000;
    assert.equal(point.start_time_unix_nano, startNs, `start time of ${pid} is its process start`);
    for (const key of [
      'process.parent_pid',
      'process.executable.name',
      'process.executable.path',
      'process.command',
      'process.command_line',
      'process.owner',
      'simulator.priority',
    ]) {
      assert.ok(key in attributes, `${key} on ${pid}`);
    }
  }
});

test('a process that exits leaves /metrics at once and the next OTLP export', async () => {
  const victim = simulator.engine.liveProcesses().find((p) => p.priority !== 'critical');
  assert.ok(victim);
  const exited = new Promise<void>((resolve) => {
    const off = simulator.engine.events.subscribe((event) => {
      if (event.type === 'ProcessExited' && event.pid === victim.pid) {
        off();
        resolve();
      }
    });
  });
  simulator.engine.killProcesses([victim.pid], 'SIGKILL', 'api');
  await exited;
  const families = await scrape();
  assert.equal(
    samplesOf(families, 'process_threads', { process_pid: String(victim.pid) }).length,
    0,
    'gone from /metrics',
  );
  const after = Date.now();
  const next = await sink.waitFor((r) => pointsOf(r, 'process.threads').length > 0);
  assert.ok(Date.now() - after < 2500, 'within about one interval (1 s)');
  assert.equal(
    pointsOf(next, 'process.threads').filter((p) => p.attributes['process.pid'] === victim.pid).length,
    0,
    'gone from OTLP',
  );
});

test("SIMULATION_ATTRIBUTES=false gives exactly a real host's label set", async () => {
  const plain = await startSimulator(
    loadConfig({
      PROFILE: 'realistic',
      PROCESS_COUNT: '2',
      SEED: '2',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
      SIMULATION_ATTRIBUTES: 'false',
      OTEL_METRICS_EXPORTER: 'none',
    }),
    silent,
  );
  try {
    const families = await scrape(plain.telemetry.prometheusUrl);
    const sample = samplesOf(families, 'process_threads')[0];
    assert.ok(sample);
    assert.deepEqual(Object.keys(sample.labels).sort(), [...PROCESS_LABELS].sort());
  } finally {
    await plain.stop();
  }
});

test('no collector listening: one warning, retries every interval, nothing crashes', async () => {
  const lines: string[] = [];
  const lonely = await startSimulator(
    loadConfig({
      PROFILE: 'realistic',
      PROCESS_COUNT: '2',
      SEED: '5',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
    }),
    createLogger('info', (line) => lines.push(line)),
  );
  try {
    assert.ok(
      await waitUntil(() => lonely.telemetry.exportStatus.failed >= 4, 10_000),
      `failed exports: ${lonely.telemetry.exportStatus.failed}`,
    );
    assert.equal(lines.filter((line) => line.includes('OTLP export failing')).length, 1, lines.join(''));
    assert.equal(lonely.engine.liveCount, 2);
  } finally {
    await lonely.stop();
  }
});

test("requests stay under the collector's 4 MiB limit: the sink refuses larger ones, and none were refused", () => {
  assert.ok(sink.requests.length > 0);
  for (const { bytes } of sink.requests) assert.ok(bytes < 4 * 1024 * 1024);
});

export type { ExportRequest };
