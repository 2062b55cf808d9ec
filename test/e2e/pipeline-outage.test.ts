/**
 * A collector outage: the bundled collector is stopped (SIGTERM) for 30 s while the simulator runs, then
 * started again on the same ports. The simulator keeps its processes and its own /metrics, logs the
 * outage once (and the recovery once), exports again once the collector is back, and its heap does not
 * grow with the failed exports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { isAlive } from '../helpers/proc.ts';
import { scrape } from '../helpers/prom-text.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const INTERVAL_MS = 2000;
const OUTAGE_MS = 30_000;
/** The shipped batch processor's timeout: the most the collector holds data back. */
const BATCH_TIMEOUT_MS = 1000;
/** Heap the test process may keep after the outage (failed exports must not pile up). */
const HEAP_GROWTH_LIMIT_BYTES = 8 * 1024 * 1024;

const PROFILE = {
  name: 'collector-outage',
  templates: [
    { name: 'svc-{i}', count: 4, priority: 'high' as const, memory: 2, fds: 5 },
    { name: 'job-{i}', count: 2, priority: 'low' as const, cpu: 1 },
  ],
};

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const pidsOn = async (url: string) =>
  new Set(
    ((await scrape(url)).get('process_threads')?.samples ?? []).map((s) => Number(s.labels.process_pid)),
  );

describe('a 30 s collector outage', () => {
  let first: RunningCollector;
  let second: RunningCollector | undefined;
  let simulator: TestSimulator;
  const measured = {
    heapBefore: 0,
    heapAfter: 0,
    restartedAtMs: 0,
    resumedAfterMs: 0,
    backOnCollectorAfterMs: 0,
  };

  before(async () => {
    first = await startCollector();
    simulator = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: first.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    });
    await runProfile(simulator.sim, PROFILE, 11);
  });

  after(async () => {
    await simulator?.sim.stop();
    await second?.stop();
    await first?.stop();
  });

  test('the simulator rides it out and exports again once the collector is back', async (t) => {
    const { sim } = simulator;
    const status = sim.telemetry.exportStatus;
    const pids = sim.engine.liveProcesses().map((p) => p.pid);
    assert.equal(pids.length, 6);
    // Counted from now, after the ramp: the empty export the sampler sends at start-up, before any
    // process runs, would make an "exports succeed" condition true before it means anything.
    const okAfterRamp = status.ok;
    await waitFor(
      'two successful exports of the running processes before the outage',
      { timeoutMs: 15_000 },
      () => status.ok >= okAfterRamp + 2 && status.lastDataPoints > 0,
    );
    await waitFor(
      'every PID on the collector before the outage',
      { timeoutMs: 15_000, everyMs: 500 },
      async () => {
        const seen = await pidsOn(first.metricsUrl);
        return pids.every((pid) => seen.has(pid));
      },
    );
    measured.heapBefore = heapUsed();

    await first.child.stop();
    assert.equal(isAlive(first.child.pid), false, `collector ${first.child.pid} stopped`);
    const downAtMs = Date.now();
    const failedBefore = status.failed;
    let samplesDuring = 0;
    while (Date.now() - downAtMs < OUTAGE_MS) {
      // The simulator itself goes on: same processes, alive, sampled, on its own /metrics.
      assert.deepEqual(
        sim.engine
          .liveProcesses()
          .map((p) => p.pid)
          .sort(),
        [...pids].sort(),
        'same live processes',
      );
      for (const pid of pids) assert.ok(isAlive(pid), `pid ${pid} alive during the outage`);
      const own = await pidsOn(simulator.metricsUrl);
      for (const pid of pids)
        assert.ok(own.has(pid), `pid ${pid} on the simulator’s /metrics during the outage`);
      if (sim.store.latest().takenAtMs > downAtMs) samplesDuring++;
      await sleep(1000);
    }
    const failedDuring = status.failed - failedBefore;
    assert.ok(
      failedDuring >= OUTAGE_MS / INTERVAL_MS - 2,
      `exports kept being attempted: ${failedDuring} failed`,
    );
    assert.ok(samplesDuring > 0, 'sampling went on');
    // The collector is gone: the channel reports the endpoint unreachable (gRPC 14 UNAVAILABLE, after a
    // refused connection), not a timeout or some other failure.
    assert.match(String(status.lastError), /UNAVAILABLE|ECONNREFUSED/, 'the export status names the error');

    second = await startCollector({ ports: first.ports });
    measured.restartedAtMs = second.readyAtMs;
    const restarted = second;
    // Generous on purpose: this measures when exports resume; the two-interval bound is checked below.
    await waitFor('a successful export after the restart', { timeoutMs: 150_000, everyMs: 100 }, () => {
      return status.lastSuccessAt !== undefined && Date.parse(status.lastSuccessAt) >= restarted.readyAtMs;
    });
    measured.resumedAfterMs = Date.parse(status.lastSuccessAt as string) - restarted.readyAtMs;
    await waitFor('every PID back on the collector', { timeoutMs: 15_000, everyMs: 250 }, async () => {
      const seen = await pidsOn(restarted.metricsUrl);
      return pids.every((pid) => seen.has(pid));
    });
    measured.backOnCollectorAfterMs = Date.now() - restarted.readyAtMs;
    t.diagnostic(
      `exports failed during the outage: ${failedDuring}; first successful export ${measured.resumedAfterMs} ms after the collector was ready; every PID on its /metrics after ${measured.backOnCollectorAfterMs} ms`,
    );

    const failing = simulator.lines.filter((line) => line.includes('OTLP export failing'));
    const recovered = simulator.lines.filter((line) => line.includes('OTLP export recovered'));
    assert.equal(failing.length, 1, `the outage logged once:\n${failing.join('')}`);
    assert.equal(recovered.length, 1, `the recovery logged once:\n${recovered.join('')}`);
    assert.match(failing[0] as string, /endpoint=\S+/);

    measured.heapAfter = heapUsed();
    const growth = measured.heapAfter - measured.heapBefore;
    t.diagnostic(
      `heap used ${(measured.heapBefore / 1048576).toFixed(1)} MiB before, ${(measured.heapAfter / 1048576).toFixed(1)} MiB after`,
    );
    assert.ok(growth < HEAP_GROWTH_LIMIT_BYTES, `heap grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });

  test('exports resume within two intervals of the collector’s return', () => {
    assert.ok(measured.restartedAtMs > 0, 'the outage test ran');
    assert.ok(
      measured.resumedAfterMs <= 2 * INTERVAL_MS,
      `first export ${measured.resumedAfterMs} ms after the collector was ready (bound ${2 * INTERVAL_MS} ms)`,
    );
    assert.ok(
      measured.backOnCollectorAfterMs <= 2 * INTERVAL_MS + BATCH_TIMEOUT_MS,
      `every PID back on the collector after ${measured.backOnCollectorAfterMs} ms (bound ${2 * INTERVAL_MS + BATCH_TIMEOUT_MS} ms)`,
    );
  });
});
