/**
 * OTLP export failures other than a refused connection: a collector that accepts and never answers
 * (at the TCP level, and at the gRPC level), a collector that fails partway through an export of
 * several requests, and a shutdown while the collector hangs. Each time the export status says what
 * happened, nothing overlaps or piles up, and the next export after the collector is back succeeds.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Simulation } from '../../src/engine/simulation.ts';
import { OtlpGrpcRequestExporter, SdkMetricRequestExporter } from '../../src/telemetry/otlp-grpc-exporter.ts';
import { type ExportOutcome, SampleDrivenMetricReader } from '../../src/telemetry/sample-driven-reader.ts';
import { type Blackhole, startBlackhole } from '../helpers/blackhole.ts';
import { type OtlpSink, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor, waitUntil } from '../helpers/wait.ts';

/** Export interval; the simulator's export timeout is the interval, up to 10 s. */
const INTERVAL_MS = 1000;
const PROFILE = {
  name: 'otlp-failures',
  templates: [{ name: 'otlp-fail-{i}', count: 3, priority: 'medium' as const }],
};

const failingLines = (s: TestSimulator) => s.lines.filter((line) => line.includes('OTLP export failing'));
const recoveredLines = (s: TestSimulator) => s.lines.filter((line) => line.includes('OTLP export recovered'));

/** Waits for a request that carries every live process of `simulation`. */
function waitForProcesses(sink: OtlpSink, s: TestSimulator, simulation: Simulation) {
  const pids = s.sim.engine.processesOf(simulation.id).map((p) => p.pid);
  assert.equal(pids.length, 3);
  return sink.waitFor((request) => {
    const exported = new Set(pointsOf(request, 'process.threads').map((p) => p.attributes['process.pid']));
    return pids.every((pid) => exported.has(pid));
  }, 20_000);
}

describe('a collector that accepts the connection and never answers (TCP)', () => {
  let hole: Blackhole;
  let sink: OtlpSink;
  let s: TestSimulator;
  after(async () => {
    await s?.sim.stop();
    await hole?.close();
    await sink?.close();
  });

  test('every export times out and counts as failed; the first export after it is back succeeds', async () => {
    hole = await startBlackhole();
    sink = await startOtlpSink();
    s = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: hole.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    });
    const simulation = await runProfile(s.sim, PROFILE, 3);
    const status = s.sim.telemetry.exportStatus;
    await waitFor(
      'three failed exports',
      { timeoutMs: 20_000, lastSeen: () => JSON.stringify(status) },
      () => status.failed >= 3,
    );
    assert.equal(status.ok, 0, 'nothing counted as exported');
    assert.equal(status.lastSuccessAt, undefined);
    assert.match(String(status.lastError), /timed out after 1000 ms|DEADLINE_EXCEEDED/);
    assert.ok(hole.accepted >= 1, 'the exporter did connect');
    assert.equal(failingLines(s).length, 1, `the outage logged once:\n${failingLines(s).join('')}`);
    assert.equal(sink.requests.length, 0);

    hole.forwardTo(sink.port);
    const failedBefore = status.failed;
    const request = await waitForProcesses(sink, s, simulation);
    assert.ok(pointsOf(request, 'process.threads').length >= 3);
    await waitFor('the export status to show the success', { timeoutMs: 10_000 }, () => status.ok >= 1);
    assert.equal(status.lastError, undefined, 'the error is cleared');
    assert.ok(
      status.failed - failedBefore <= 2,
      `at most the exports in flight failed after: ${status.failed - failedBefore}`,
    );
    await waitFor('the recovery in the log', { timeoutMs: 5000 }, () => recoveredLines(s).length === 1);
  });
});

describe('a collector that takes the call and never answers it (gRPC)', () => {
  let sink: OtlpSink;
  let s: TestSimulator;
  after(async () => {
    await s?.sim.stop();
    await sink?.close();
  });

  test('every export times out, no call piles up behind another, and it recovers once answered', async () => {
    sink = await startOtlpSink();
    sink.hanging = true;
    s = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    });
    const simulation = await runProfile(s.sim, PROFILE, 4);
    const status = s.sim.telemetry.exportStatus;
    const started = Date.now();
    await waitFor(
      'three failed exports',
      { timeoutMs: 20_000, lastSeen: () => JSON.stringify(status) },
      () => status.failed >= 3,
    );
    const elapsedMs = Date.now() - started;
    assert.equal(status.ok, 0);
    assert.match(String(status.lastError), /timed out after 1000 ms|DEADLINE_EXCEEDED/);
    // Exports never overlap: one call per export reached the collector, each waited out in turn.
    assert.ok(sink.hung >= 3, `calls taken by the collector: ${sink.hung}`);
    assert.ok(
      sink.hung <= status.failed + 1,
      `${sink.hung} calls for ${status.failed} failed exports in ${elapsedMs} ms: exports overlapped`,
    );

    sink.hanging = false;
    await waitForProcesses(sink, s, simulation);
    await waitFor('the export status to show the success', { timeoutMs: 10_000 }, () => status.ok >= 1);
    assert.equal(status.lastError, undefined);
    assert.equal(failingLines(s).length, 1);
    await waitFor('the recovery in the log', { timeoutMs: 5000 }, () => recoveredLines(s).length === 1);
  });

  test('a shutdown while the collector hangs ends within the export timeout', async (t) => {
    sink.hanging = true;
    const hungBefore = sink.hung;
    await waitFor('a call taken and held', { timeoutMs: 10_000 }, () => sink.hung > hungBefore);
    let stopped = false;
    const stopAt = Date.now();
    const stopping = s.sim.stop().then(() => {
      stopped = true;
    });
    // The last export waits for the hung call at most its timeout; then the exporter is closed.
    assert.ok(await waitUntil(() => stopped, 4 * INTERVAL_MS + 5000), 'stop() did not return');
    await stopping;
    t.diagnostic(`stop() returned after ${Date.now() - stopAt} ms with the collector hanging`);
    assert.deepEqual(s.sim.engine.liveProcesses(), []);
  });
});

/** One Resource per series, as the resource shape sends one per process. */
function* seriesResources(count: number): Iterable<ResourceMetrics> {
  const now = Date.now();
  const time: [number, number] = [Math.floor(now / 1000), (now % 1000) * 1e6];
  for (let i = 0; i < count; i++)
    yield {
      resource: resourceFromAttributes({ series: `s-${i}`, padding: 'x'.repeat(24) }),
      scopeMetrics: [
        {
          scope: { name: 'otlp-failures' },
          metrics: [
            {
              descriptor: { name: 'test.series', description: '', unit: '', valueType: 1 },
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.GAUGE,
              dataPoints: [{ startTime: time, endTime: time, attributes: {}, value: i }],
            },
          ],
        },
      ],
    };
}

for (const shape of ['datapoint', 'resource'] as const)
  describe(`a collector that fails partway through an export of several requests (${shape} shape)`, () => {
    let sink: OtlpSink;
    let provider: MeterProvider | undefined;
    after(async () => {
      await provider?.shutdown().catch(() => {});
      await sink?.close();
    });

    test('the export fails at the refused request, the exporter is renewed, and the next export sends every request', async () => {
      sink = await startOtlpSink();
      const renewals: number[] = [];
      const outcomes: ExportOutcome[] = [];
      const SERIES = 200;
      // A small request budget splits 200 series into several requests, as 10,000 processes are split
      // under the collector's 4 MiB.
      const reader = new SampleDrivenMetricReader({
        createExporter: (renewal) => {
          renewals.push(renewal);
          const config = {
            url: sink.endpoint,
            timeoutMillis: 5000,
            ...(renewal > 0 ? { userAgent: `otlp-failures (channel ${renewal})` } : {}),
          };
          return shape === 'resource'
            ? new OtlpGrpcRequestExporter(config)
            : new SdkMetricRequestExporter(config);
        },
        ...(shape === 'resource' ? { processResources: () => seriesResources(SERIES) } : {}),
        timeoutMs: 5000,
        maxRequestBytes: 4096,
        onResult: (outcome) => outcomes.push(outcome),
      });
      provider = new MeterProvider({ readers: [reader] });
      if (shape === 'datapoint')
        provider
          .getMeter('otlp-failures')
          .createObservableGauge('test.series')
          .addCallback((result) => {
            for (let i = 0; i < SERIES; i++) result.observe(i, { series: `s-${i}`, padding: 'x'.repeat(24) });
          });
      const seriesIn = (from: number) =>
        new Set(
          sink.requests
            .slice(from)
            .flatMap((r) => pointsOf(r.request, 'test.series').map((p) => p.attributes.series)),
        );

      await reader.exportNow();
      const whole = outcomes.at(-1) as ExportOutcome;
      assert.equal(whole.ok, true, String(whole.error));
      const n = whole.requests;
      assert.ok(n >= 4, `an export of ${n} requests`);
      assert.equal(sink.requests.length, n);
      assert.equal(seriesIn(0).size, SERIES);

      const k = Math.floor(n / 2);
      sink.refuseAfter(k);
      const before = sink.requests.length;
      await reader.exportNow();
      const partial = outcomes.at(-1) as ExportOutcome;
      assert.equal(partial.ok, false, 'the export failed');
      assert.match(String(partial.error?.message), /UNAVAILABLE/);
      assert.equal(partial.requests, k + 1, 'it stopped at the first refused request');
      assert.ok(
        partial.dataPoints < whole.dataPoints,
        `${partial.dataPoints} of ${whole.dataPoints} points attempted`,
      );
      assert.equal(sink.requests.length - before, k, `the collector kept ${k} of ${n} requests`);
      assert.deepEqual(renewals, [0, 1], 'a fresh exporter (and channel) after the failure');

      sink.answerAll();
      const recovered = sink.requests.length;
      await reader.exportNow();
      const next = outcomes.at(-1) as ExportOutcome;
      assert.equal(next.ok, true, String(next.error));
      assert.equal(next.requests, n);
      assert.equal(next.dataPoints, whole.dataPoints);
      assert.equal(sink.requests.length - recovered, n);
      assert.equal(seriesIn(recovered).size, SERIES, 'every series in the export after the failure');
      assert.deepEqual(renewals, [0, 1], 'no renewal after a success');

      // Calls during an export wait for it and share one follow-up export: none overlaps, none is lost.
      const skippedBefore = reader.skipped;
      const outcomesBefore = outcomes.length;
      await Promise.all([reader.exportNow(), reader.exportNow(), reader.exportNow()]);
      assert.equal(reader.skipped - skippedBefore, 2);
      assert.equal(outcomes.length - outcomesBefore, 2, 'one export and one shared follow-up');
      assert.ok(outcomes.slice(outcomesBefore).every((o) => o.ok));
    });
  });
