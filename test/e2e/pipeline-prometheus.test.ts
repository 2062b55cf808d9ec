/**
 * A real Prometheus (the Debian `prometheus` binary) scrapes the simulator's /metrics and the bundled
 * collector's exporter: PromQL counts the simulated processes per priority as the engine runs them,
 * through both paths, and `promtool check metrics` finds nothing to complain about on either page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { promtoolCheckMetrics, type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 2000;

/** Idle processes of every priority, none with a lifetime: the expected counts hold still. */
const PROFILE = {
  name: 'prometheus-counts',
  templates: [
    { name: 'db-{i}', count: 2, priority: 'critical' as const, memory: 2, fds: 6 },
    { name: 'api-{i}', count: 4, priority: 'high' as const, memory: 1, threads: 2, fds: 5 },
    { name: 'worker-{i}', count: 3, priority: 'medium' as const, fds: 4 },
    { name: 'batch-{i}', count: 3, priority: 'low' as const },
  ],
};
const EXPECTED = { critical: 2, high: 4, medium: 3, low: 3 };

describe('Prometheus scraping the simulator and the collector', () => {
  let collector: RunningCollector;
  let simulator: TestSimulator;
  let prometheus: RunningPrometheus;

  before(async () => {
    collector = await startCollector({
      overrides: [`exporters:\n  prometheus:\n    metric_expiration: ${2.5 * INTERVAL_MS}ms\n`],
    });
    simulator = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    });
    await runProfile(simulator.sim, PROFILE, 3);
    prometheus = await startPrometheus([
      { job: 'simulator', url: simulator.metricsUrl },
      { job: 'collector', url: collector.metricsUrl },
    ]);
  });

  after(async () => {
    await prometheus?.stop();
    await simulator?.sim.stop();
    await collector?.stop();
  });

  test('PromQL counts the processes per priority, the same through both paths', async (t) => {
    assert.deepEqual(simulator.sim.engine.liveByPriority(), EXPECTED, 'the engine runs the profile');
    for (const job of ['simulator', 'collector']) {
      const promql = `count by (simulator_priority) (process_threads{job="${job}"})`;
      let seen: Record<string, number> = {};
      const started = Date.now();
      await waitFor(
        `${promql} to equal ${JSON.stringify(EXPECTED)}`,
        { timeoutMs: 30_000, everyMs: 500, lastSeen: () => JSON.stringify(seen) },
        async () => {
          seen = Object.fromEntries(
            (await prometheus.query(promql)).map((sample) => [
              sample.metric.simulator_priority ?? '',
              sample.value,
            ]),
          );
          return (
            JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(EXPECTED).sort())
          );
        },
      );
      t.diagnostic(`${job}: expected counts in Prometheus after ${Date.now() - started} ms`);
    }
    const targets = await prometheus.targets();
    assert.deepEqual(targets.map((target) => target.job).sort(), ['collector', 'simulator']);
    for (const target of targets) assert.equal(target.health, 'up', `${target.job}: ${target.lastError}`);
    // One series per process and state, whichever path: no duplicates from a second Resource or scope.
    const cpu = await prometheus.query('count by (job) (process_cpu_time_seconds_total)');
    const total = Object.values(EXPECTED).reduce((sum, n) => sum + n, 0);
    assert.deepEqual(Object.fromEntries(cpu.map((s) => [s.metric.job, s.value])), {
      simulator: total * 3,
      collector: total * 3,
    });
  });

  test('promtool check metrics finds no problem on the simulator’s /metrics nor on the collector’s', async () => {
    for (const url of [simulator.metricsUrl, collector.metricsUrl]) {
      const text = await (await fetch(url)).text();
      assert.match(text, /^process_threads\{/m, `${url} has process series`);
      const { status, output } = promtoolCheckMetrics(text);
      assert.equal(output, '', `promtool on ${url}`);
      assert.equal(status, 0, `promtool exit status on ${url}`);
    }
  });
});
