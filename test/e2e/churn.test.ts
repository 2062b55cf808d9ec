/**
 * Churn: thousands of short-lived processes. Dead PIDs must leave /metrics within one interval and OTLP
 * once their final reading went out, no series may be capped or folded into an overflow series, and
 * memory must stay flat.
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
import { isAlive } from '../helpers/proc.ts';
import { parsePrometheusText } from '../helpers/prom-text.ts';
import { samplesOf } from '../helpers/series.ts';
import { waitUntil } from '../helpers/wait.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const INTERVAL_MS = 1000;
const LIFETIMES = 2500;
// decoded OTLP requests the sink keeps; the OTLP check reads them all
const KEPT_REQUESTS = 10;
// the bus keeps its last 1000 events: two per lifetime, so 600 lifetimes fill it
const WARM_LIFETIMES = 600;
const WEIGH_EVERY = 250;
let sink: OtlpSink;
let simulator: RunningSimulator;

before(async () => {
  // keeps few requests: the test measures its own heap, and a long list of decoded requests would be ours
  sink = await startOtlpSink({ keep: KEPT_REQUESTS });
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
  // Every OTLP request is checked as it arrives (the sink keeps only the last few). A PID that exited
  // may still be in the export of the snapshot read before its exit, and its final reading (taken right
  // before the engine ended it) goes out once with the next one: every point after an exit was read
  // before it, and none comes later than the export after the next sample (two intervals, one of them
  // for an export that waited behind another, plus its own time).
  const staleOtlp: string[] = [];
  let otlpRequests = 0;
  let otlpPoints = 0;
  const offOtlp = sink.onRequest(({ receivedAtMs, request }) => {
    otlpRequests++;
    for (const point of pointsOf(request, 'process.threads')) {
      otlpPoints++;
      const pid = point.attributes['process.pid'] as number;
      const exit = exitedAt.get(pid);
      if (exit === undefined) continue;
      // nanoseconds decoded into a JavaScript number: a millisecond of rounding
      const readAtMs = Number(point.point.time_unix_nano) / 1e6;
      if (readAtMs > exit + 1)
        staleOtlp.push(`OTLP carried pid ${pid} read ${readAtMs - exit} ms after it exited`);
      if (receivedAtMs - exit > 2 * INTERVAL_MS + 1000)
        staleOtlp.push(`OTLP carried pid ${pid} ${receivedAtMs - exit} ms after it exited`);
    }
  });
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
  const weighings: Array<{ lifetimes: number; heap: number }> = [];
  let checks = 0;
  const started = Date.now();
  try {
    while (simulation.exits.lifetime.low < LIFETIMES && Date.now() - started < 120_000) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      // Weighed once every bounded buffer is full, the sink's and the event bus's: a buffer still filling
      // up is growth that stops, and once weighed 8 MiB of decoded requests against a real leak.
      const lifetimes = simulation.exits.lifetime.low;
      const warm = lifetimes >= WARM_LIFETIMES && sink.requests.length >= KEPT_REQUESTS;
      if (warm && lifetimes >= (weighings.at(-1)?.lifetimes ?? 0) + WEIGH_EVERY)
        weighings.push({ lifetimes, heap: heapAfterGc() });
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
    weighings.push({ lifetimes: simulation.exits.lifetime.low, heap: heapAfterGc() });
    assert.deepEqual(stale, []);
    assert.deepEqual(staleOtlp.slice(0, 20), [], `${staleOtlp.length} stale OTLP points`);
    // One export an interval over the run, each with the live processes: the check above saw them all.
    const seconds = (Date.now() - started) / 1000;
    assert.ok(
      otlpRequests >= seconds / 2,
      `${otlpRequests} OTLP requests checked in ${seconds.toFixed(0)} s`,
    );
    assert.ok(otlpPoints >= otlpRequests * 10, `${otlpPoints} process points in ${otlpRequests} requests`);
    assert.ok(weighings.length >= 6, `the heap was weighed ${weighings.length} times after warm-up`);
    // A leak raises every later weighing; a transient (a request being decoded, code being compiled)
    // raises single ones. The least of the first three against the least of the last three sees the one
    // and not the other.
    const least = (some: typeof weighings) => Math.min(...some.map((w) => w.heap));
    const growth = least(weighings.slice(-3)) - least(weighings.slice(0, 3));
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    t.diagnostic(
      `heap after GC (MiB) at ${weighings.map((w) => `${w.lifetimes}: ${mib(w.heap)}`).join(', ')} lifetimes`,
    );
    assert.ok(
      growth < 8 * 1024 * 1024,
      `heap grew ${mib(growth)} MiB from ${weighings[0]?.lifetimes} to ${simulation.exits.lifetime.low} lifetimes (${checks} scrapes)`,
    );
  } finally {
    await engine.stopSimulation(simulation.id);
    off();
    offOtlp();
  }
  // after the stop: no process series anywhere, no process left
  const families = parsePrometheusText(await (await fetch(url)).text());
  assert.equal(samplesOf(families, 'process_threads').length, 0, 'no process series after the stop');
  // The next export collected after the stop (one already in flight was collected before it): exportNow
  // waits for such an export, then sends a fresh one, answered before it resolves.
  const before = sink.requests.at(-1);
  await simulator.telemetry.exportNow();
  const request = sink.requests.at(-1);
  assert.ok(request && request !== before, 'an export after the stop reached the sink');
  assert.equal(
    pointsOf(request.request, 'process.threads').length,
    0,
    'the next OTLP export has no process points',
  );
  assert.ok(await waitUntil(() => [...allPids].every((pid) => !isAlive(pid)), 3000), 'every PID gone');
  assert.ok(allPids.size > LIFETIMES);
});
