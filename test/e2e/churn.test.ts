/**
 * Churn: thousands of short-lived processes. Dead PIDs must leave both exporters within one interval,
 * no series may be capped or folded into an overflow series, and memory must stay flat.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';
import { type OtlpSink, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { isAlive, waitUntil } from '../helpers/proc.ts';
import { parsePrometheusText } from '../helpers/prom-text.ts';
import { samplesOf } from '../helpers/series.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const INTERVAL_MS = 1000;
const LIFETIMES = 2500;
let sink: OtlpSink;
let simulator: RunningSimulator;

before(async () => {
  // keeps few requests: the test measures its own heap, and a long list of decoded requests would be ours
  sink = await startOtlpSink({ keep: 20 });
  simulator = await startSimulator(
    loadConfig({
      AUTO_START: 'false',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      CONTROL_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    }),
    createLogger('error', () => {}),
  );
});
after(async () => {
  await simulator?.stop();
  await sink?.close();
});

test(`${LIFETIMES} PID lifetimes: dead PIDs leave /metrics and OTLP within one interval, heap stays flat`, async (t) => {
  const profile = validateProfile({
    name: 'churn-test',
    templates: [
      { name: 'anchor', count: 1, priority: 'critical' },
      { name: 'churn-{i}-{g}', count: 30, priority: 'low', lifetime: { min: '200ms', max: '400ms' } },
    ],
  });
  const exitedAt = new Map<number, number>();
  const allPids = new Set<number>();
  const off = simulator.engine.events.subscribe((event) => {
    if (event.type === 'ProcessExited') exitedAt.set(event.pid, Date.now());
    if (event.type === 'ProcessStarted') allPids.add(event.pid);
  });
  const { engine } = simulator;
  const simulation = engine.createSimulation({
    name: 'churn',
    profile,
    seed: 9,
    durationMs: undefined,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
  const url = simulator.telemetry.prometheusUrl as string;
  const stale: string[] = [];
  let heapWarm = 0;
  let checks = 0;
  const started = Date.now();
  try {
    while (simulation.exits.lifetime.low < LIFETIMES && Date.now() - started < 120_000) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      if (!heapWarm && simulation.exits.lifetime.low >= 300) heapWarm = heapAfterGc();
      const scrapedAt = Date.now();
      const families = parsePrometheusText(await (await fetch(url)).text());
      for (const sample of samplesOf(families, 'process_threads')) {
        const pid = Number(sample.labels.process_pid);
        const exit = exitedAt.get(pid);
        // a series may outlive its process only until the exit is noticed, never by an interval
        if (exit !== undefined && scrapedAt - exit > INTERVAL_MS)
          stale.push(`pid ${pid} on /metrics ${scrapedAt - exit} ms after it exited`);
      }
      assert.equal(
        samplesOf(families, 'process_threads', { otel_metric_overflow: 'true' }).length,
        0,
        'no overflow series',
      );
      checks++;
    }
    assert.ok(
      simulation.exits.lifetime.low >= LIFETIMES,
      `only ${simulation.exits.lifetime.low} lifetimes in 120 s`,
    );
    const heapEnd = heapAfterGc();
    assert.deepEqual(stale, []);
    for (const { receivedAtMs, request } of sink.requests.slice(-20)) {
      for (const point of pointsOf(request, 'process.threads')) {
        const exit = exitedAt.get(point.attributes['process.pid'] as number);
        assert.ok(
          exit === undefined || receivedAtMs - exit <= INTERVAL_MS + 500,
          `OTLP carried pid ${point.attributes['process.pid']} ${receivedAtMs - (exit ?? 0)} ms after exit`,
        );
      }
    }
    const growth = heapEnd - heapWarm;
    t.diagnostic(
      `heap after GC: ${(heapWarm / 2 ** 20).toFixed(1)} MiB warm, ${(heapEnd / 2 ** 20).toFixed(1)} MiB after ${simulation.exits.lifetime.low} lifetimes`,
    );
    assert.ok(
      growth < 8 * 1024 * 1024,
      `heap grew ${(growth / 2 ** 20).toFixed(1)} MiB over ${simulation.exits.lifetime.low} lifetimes (${checks} scrapes)`,
    );
  } finally {
    await engine.stopSimulation(simulation.id);
    off();
  }
  // after the stop: no process series anywhere, no process left
  const families = parsePrometheusText(await (await fetch(url)).text());
  assert.equal(samplesOf(families, 'process_threads').length, 0, 'no process series after the stop');
  const request = await sink.waitFor(() => true, 5000);
  assert.equal(pointsOf(request, 'process.threads').length, 0, 'the next OTLP export has no process points');
  assert.ok(await waitUntil(() => [...allPids].every((pid) => !isAlive(pid)), 3000), 'every PID gone');
  assert.ok(allPids.size > LIFETIMES);
});
