/**
 * `npm run bench -- --otlp-shape N --repeats R` runs this file as `node bench/otlp-shape.ts [processes]
 * [repeats] [--no-write]`: the CPU of one OTLP export in each shape of
 * OTLP_PROCESS_ATTRIBUTES, the simulator's telemetry (createTelemetry, the real exporter and reader)
 * exporting a snapshot of `processes` synthetic processes (default 10,000) to the benchmark's
 * byte-counting sink in a child process. No process is spawned and /proc is not read: the figure is the
 * export alone (building the data, encoding, sending), what `OTLP export CPU` of `npm run bench`
 * measures on top of real processes. Prints a Markdown table and writes it to bench/results.md
 * (unless --no-write); one core for the export, the sink's decoding-free receive in a second process.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { EventBus } from '../src/engine/events.ts';
import type { SampledProcess } from '../src/sampler/snapshot.ts';
import { SnapshotStore } from '../src/sampler/snapshot.ts';
import { defaultSelection } from '../src/telemetry/process-metrics.ts';
import { createTelemetry } from '../src/telemetry/telemetry.ts';
import { describeMachine } from './lib/machine.ts';
import { writeSection } from './lib/results.ts';
import { startOtlpSink } from './lib/sink.ts';
import { fmt, fmtSpread, MiB, spread } from './lib/stats.ts';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const write = !process.argv.includes('--no-write');
const processes = Number(positional[0] ?? 10_000);
const repeats = Number(positional[1] ?? 5);
if (!(Number.isInteger(processes) && processes > 0 && Number.isInteger(repeats) && repeats > 0)) {
  throw new Error('usage: node bench/otlp-shape.ts [processes] [repeats] [--no-write]');
}

/** A process as the sampler keeps it, with attribute sizes of the high-cardinality profile. */
function sampled(pid: number): SampledProcess {
  const name = `api-${pid}`;
  return {
    info: {
      pid,
      name,
      simulationId: '30502627-f679-4477-9ef7-1a590d104f57',
      profile: 'high-cardinality',
      shard: undefined,
      priority: 'medium',
      cpuPattern: 'steady',
      memoryPattern: 'steady',
      startedAtMs: Date.now() - 60_000,
      generation: 0,
      targets: {} as SampledProcess['info']['targets'],
    },
    identity: {
      executablePath: `/tmp/process-simulator-4242-1/bin/${name}`,
      commandLine: [name, '--serve', `--port=${8000 + (pid % 1000)}`],
      owner: 'simulator',
      cgroup: undefined,
    },
    sample: {
      pid,
      ppid: process.pid,
      name,
      state: 'S',
      cpuUserSeconds: 12.34 + pid / 1000,
      cpuSystemSeconds: 1.23,
      cpuWaitSeconds: 0,
      rssBytes: 10_000_000 + pid,
      vmsBytes: 100_000_000 + pid,
      threads: 4,
      openFds: 12,
      readChars: 4096 * pid,
      writeChars: 8192 * pid,
      readSyscalls: 10,
      writeSyscalls: 20,
      voluntaryCtxSwitches: 0,
      involuntaryCtxSwitches: 0,
      signalsPending: 0,
      memoryPercent: 0.5,
      cpuUtilization: undefined,
      minorFaults: 0,
      majorFaults: 0,
      startTimeMs: Date.now() - 60_000,
      startTicks: 1000,
      readAtMs: Date.now(),
    },
  };
}

async function measure(shape: 'resource' | 'datapoint') {
  const store = new SnapshotStore();
  const live = new Map<number, SampledProcess>();
  for (let pid = 100_000; pid < 100_000 + processes; pid++) live.set(pid, sampled(pid));
  store.publish({
    takenAtMs: Date.now(),
    durationMs: 0,
    processes: live,
    unreadable: new Map(),
    departed: new Map(),
  });
  const sink = await startOtlpSink();
  const telemetry = await createTelemetry({
    resource: resourceFromAttributes({ 'service.name': 'process-simulator', 'host.name': 'bench' }),
    store,
    events: new EventBus(),
    liveByPriority: () => ({ critical: 0, high: 0, medium: processes, low: 0 }),
    simulationPrefix: 'simulator.',
    selection: defaultSelection(),
    scope: { name: 'process-simulator', version: 'bench' },
    prometheus: undefined,
    otlp: { endpoint: sink.endpoint, headers: {}, timeoutMs: 30_000, processAttributes: shape },
  });
  try {
    // A first export warms up the code and the channel; it is not counted.
    await telemetry.exportNow();
    await sink.sync();
    sink.take();
    const cpu: number[] = [];
    const bytes: number[] = [];
    const requests: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const before = process.cpuUsage();
      await telemetry.exportNow();
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / 1000);
      await sink.sync();
      const sizes = sink.take();
      if (telemetry.exportStatus.lastError) throw new Error(telemetry.exportStatus.lastError);
      bytes.push(sizes.reduce((sum, size) => sum + size, 0));
      requests.push(sizes.length);
      if (Math.max(...sizes) >= 4 * MiB) throw new Error(`a request of ${Math.max(...sizes)} bytes`);
    }
    return {
      cpu: spread(cpu),
      bytes: spread(bytes),
      requests: spread(requests),
      points: telemetry.exportStatus.lastDataPoints,
    };
  } finally {
    await telemetry.shutdown();
    await sink.close();
  }
}

// The machine (its load average) as the measurement starts.
const machine = describeMachine();
const results = { resource: await measure('resource'), datapoint: await measure('datapoint') };
const row = (label: string, value: (r: Awaited<ReturnType<typeof measure>>) => string) =>
  `| ${label} | ${value(results.datapoint)} | ${value(results.resource)} |`;
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
const body = [
  `## OTLP export shapes: ${fmt(processes, 0)} synthetic processes`,
  '',
  `\`npm run bench -- --otlp-shape ${processes} --repeats ${repeats}\` on ${date} UTC, median (min-max) of ${repeats} exports.`,
  `Machine: ${machine}.`,
  '',
  `| ${fmt(processes, 0)} synthetic processes | datapoint | resource |`,
  '|---|---|---|',
  row('OTLP export CPU (ms)', (r) => fmtSpread(r.cpu, 0)),
  row('OTLP data points per export', (r) => fmt(r.points, 0)),
  row('OTLP requests per export', (r) => fmtSpread(r.requests, 0)),
  row('OTLP bytes per export (MiB)', (r) =>
    fmtSpread(
      { ...r.bytes, median: r.bytes.median / MiB, min: r.bytes.min / MiB, max: r.bytes.max / MiB },
      2,
    ),
  ),
  '',
].join('\n');
process.stdout.write(body);
if (write) writeSection(`otlp-shape-${processes}`, body);
