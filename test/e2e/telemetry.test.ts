/**
 * What a user of the simulator sees: /metrics scraped over HTTP and OTLP received by a real gRPC
 * server on loopback, compared with /proc.
 */
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';
import { type ExportRequest, type OtlpSink, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { fdCount, launcherOf, procStatus } from '../helpers/proc.ts';
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
    // The worker's parent is the engine's launcher (a child of this process), as /proc says.
    assert.equal(labels.process_parent_pid, procStatus(info.pid)?.PPid);
    assert.equal(labels.process_parent_pid, String(launcherOf(process.pid)));
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
  assert.equal(
    samplesOf(families, 'simulator_process_starts_total').reduce((sum, s) => sum + s.value, 0),
    12,
    'twelve starts counted',
  );
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
  assert.equal(resource['host.name'], hostname());
  assert.equal(resource['os.type'], 'linux');

  const btime = Number(/^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  const points = pointsOf(request, 'process.memory.usage');
  assert.equal(points.length, 12, 'one process.memory.usage point per live process');
  const owner = userInfo().username;
  for (const { attributes, point } of points) {
    const pid = attributes['process.pid'] as number;
    assert.equal(typeof pid, 'number', 'process.pid is an int attribute');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const starttime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const startNs = (btime * 100 + starttime) * 10_000_000;
    assert.equal(point.start_time_unix_nano, startNs, `start time of ${pid} is its process start`);
    const info = simulator.engine.liveProcesses().find((p) => p.pid === pid);
    assert.ok(info, `pid ${pid} is a live simulated process`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(
      {
        parent: attributes['process.parent_pid'],
        name: attributes['process.executable.name'],
        path: attributes['process.executable.path'],
        command: attributes['process.command'],
        commandLine: attributes['process.command_line'],
        owner: attributes['process.owner'],
        priority: attributes['simulator.priority'],
      },
      {
        parent: launcherOf(process.pid),
        name: info.name,
        path: readlinkSync(`/proc/${pid}/exe`),
        command: cmdline[0],
        commandLine: cmdline.join(' '),
        owner,
        priority: info.priority,
      },
      `attributes of ${pid}`,
    );
  }
});

test('a process that exits leaves /metrics at once and the next OTLP export', async () => {
  const victim = simulator.engine.liveProcesses().find((p) => p.priority !== 'critical');
  assert.ok(victim);
  const others = simulator.engine
    .liveProcesses()
    .map((p) => p.pid)
    .filter((pid) => pid !== victim.pid);
  assert.equal(others.length, 11);
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
  // The next export collected after the exit: an export already in flight was collected before it.
  // exportNow waits for such an export and then sends a fresh one, answered before it resolves.
  const before = sink.requests.length;
  await simulator.telemetry.exportNow();
  const next = sink.requests.at(-1);
  assert.ok(next && sink.requests.length > before, 'an export after the exit reached the sink');
  const exported = new Set(pointsOf(next.request, 'process.threads').map((p) => p.attributes['process.pid']));
  assert.equal(exported.has(victim.pid), false, 'gone from OTLP');
  // A replacement may have started meanwhile; the eleven others must all be there.
  assert.deepEqual(
    others.filter((pid) => !exported.has(pid)),
    [],
    'the other processes are still exported',
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

test("requests stay under the collector's 4 MiB limit: the sink refuses larger ones, and none were refused", async () => {
  // The sink refuses a request over 4 MiB before its handler runs, so `sink.requests` holds only the
  // accepted ones: a refusal shows only in the exporter's own count of failed exports.
  const status = simulator.telemetry.exportStatus;
  // Run alone, this test starts right after the simulator: wait for three exports of its own.
  await waitUntil(() => status.ok + status.failed >= 3, 10_000);
  assert.equal(status.failed, 0, `failed exports: ${status.lastError}`);
  assert.ok(status.ok >= 3, `successful exports: ${status.ok}`);
  assert.equal(sink.requests.length, status.ok, 'one request per export at this size, each received');
});

export type { ExportRequest };
