/**
 * simulator -> OTLP/gRPC -> the bundled collector (otel-collector/config.yaml) -> its prometheus
 * exporter: every live simulated process shows up there with the names, types and labels of the
 * simulator's own /metrics, and the series of a process that exited leave both pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningCollector, sentPoints, startCollector } from '../helpers/collector.ts';
import { type PromFamily, scrape } from '../helpers/prom-text.ts';
import { startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 2000;
/** The shipped 25 s is 2.5 export intervals at 10 s; the same ratio at this test's interval. */
const EXPIRATION_MS = 2.5 * INTERVAL_MS;
/** The shipped batch processor's timeout: the most the collector holds data back. */
const BATCH_TIMEOUT_MS = 1000;
/** Labels the collector derives from the simulator's Resource (service.name, service.instance.id). */
const COLLECTOR_ONLY_LABELS = new Set(['job', 'instance']);

/** PIDs with a process_threads series on a page. */
function pidsOn(families: Map<string, PromFamily>): Set<number> {
  return new Set(
    (families.get('process_threads')?.samples ?? []).map((sample) => Number(sample.labels.process_pid)),
  );
}

function labelKeys(labels: Record<string, string>): string {
  return Object.keys(labels)
    .filter((key) => !COLLECTOR_ONLY_LABELS.has(key))
    .sort()
    .join(',');
}

describe('simulator -> OTLP/gRPC -> collector -> prometheus exporter', () => {
  let collector: RunningCollector;
  let simulator: TestSimulator;

  before(async () => {
    collector = await startCollector({
      overrides: [`exporters:\n  prometheus:\n    metric_expiration: ${EXPIRATION_MS}ms\n`],
    });
    simulator = await startTestSimulator({
      PROFILE: 'realistic',
      PROCESS_COUNT: '12',
      SEED: '7',
      // every metric, so that each one's Prometheus name is held against the collector's
      OPTIONAL_METRICS: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    });
  });

  after(async () => {
    await simulator?.sim.stop();
    await collector?.stop();
  });

  test('every live simulated PID appears on the collector’s /metrics, in every process family', async () => {
    let missing: string[] = [];
    await waitFor(
      'every settled live PID on both pages',
      { timeoutMs: 20_000, everyMs: 500, lastSeen: () => missing.join('; ') },
      async () => {
        // A process started less than an interval (plus the batch delay) ago may not be exported yet.
        const settledBefore = Date.now() - INTERVAL_MS - BATCH_TIMEOUT_MS - 500;
        const live = simulator.sim.engine.liveProcesses().filter((p) => p.startedAtMs < settledBefore);
        const [own, viaCollector] = [await scrape(simulator.metricsUrl), await scrape(collector.metricsUrl)];
        missing = [];
        for (const process of live) {
          for (const [page, families] of [
            ['simulator', own],
            ['collector', viaCollector],
          ] as const) {
            for (const family of families.values()) {
              if (!family.name.startsWith('process_')) continue;
              if (!family.samples.some((sample) => sample.labels.process_pid === String(process.pid))) {
                missing.push(
                  `${page}: ${family.name} has no series for pid ${process.pid} (${process.name})`,
                );
              }
            }
          }
        }
        return live.length >= 10 && missing.length === 0;
      },
    );
  });

  test('process metric families have the same names, types, help and label keys on both pages', async () => {
    const [own, viaCollector] = [await scrape(simulator.metricsUrl), await scrape(collector.metricsUrl)];
    const processFamilies = (families: Map<string, PromFamily>) =>
      [...families.keys()].filter((name) => name.startsWith('process_')).sort();
    assert.deepEqual(processFamilies(viaCollector), processFamilies(own), 'process_* family names');
    assert.deepEqual(processFamilies(own), [
      'process_context_switches_total',
      'process_cpu_time_seconds_total',
      'process_cpu_utilization_ratio',
      'process_disk_io_bytes_total',
      'process_disk_operations_total',
      'process_memory_usage_bytes',
      'process_memory_utilization_ratio',
      'process_memory_virtual_bytes',
      'process_open_file_descriptors',
      'process_paging_faults_total',
      'process_signals_pending',
      'process_threads',
      'process_uptime_seconds',
    ]);
    for (const name of processFamilies(own)) {
      const mine = own.get(name) as PromFamily;
      const theirs = viaCollector.get(name) as PromFamily;
      assert.equal(theirs.type, mine.type, `TYPE of ${name}`);
      assert.equal(theirs.help, mine.help, `HELP of ${name}`);
      const ownKeys = new Set(mine.samples.map((sample) => labelKeys(sample.labels)));
      const collectorKeys = new Set(theirs.samples.map((sample) => labelKeys(sample.labels)));
      assert.deepEqual(
        [...collectorKeys],
        [...ownKeys],
        `label keys of ${name} (collector without job, instance)`,
      );
      for (const sample of theirs.samples) {
        assert.ok(
          sample.labels.job && sample.labels.instance,
          `${name} on the collector has job and instance`,
        );
      }
    }
  });

  test('the simulator’s own metrics have the same family names on both pages', async () => {
    const [own, viaCollector] = [await scrape(simulator.metricsUrl), await scrape(collector.metricsUrl)];
    // target_info describes the Resource, which the pipeline regroups per process on purpose.
    const selfFamilies = (families: Map<string, PromFamily>) =>
      [...families.values()]
        .filter((family) => family.name.startsWith('simulator_'))
        .map((family) => `${family.name} ${family.type}`)
        .sort();
    assert.deepEqual(selfFamilies(viaCollector), selfFamilies(own));
  });

  test('series of exited processes leave the simulator’s page at once and the collector’s within the expiration', async (t) => {
    const { engine } = simulator.sim;
    const victims = engine
      .liveProcesses()
      .filter((p) => p.priority !== 'critical')
      .slice(0, 3)
      .map((p) => p.pid);
    assert.equal(victims.length, 3, 'three non-critical processes to stop');
    const exitedAt = new Map<number, number>();
    const unsubscribe = engine.events.subscribe((event) => {
      if (event.type === 'ProcessExited' && victims.includes(event.pid)) exitedAt.set(event.pid, Date.now());
    });
    try {
      engine.killProcesses(victims, 'SIGTERM', 'api');
      await waitFor(
        'the three exits',
        { timeoutMs: 10_000, everyMs: 50 },
        () => exitedAt.size === victims.length,
      );
      const goneFrom = { simulator: new Map<number, number>(), collector: new Map<number, number>() };
      const bound = EXPIRATION_MS + BATCH_TIMEOUT_MS + INTERVAL_MS;
      const deadline = Date.now() + bound + 2000;
      while (Date.now() < deadline && (goneFrom.simulator.size < 3 || goneFrom.collector.size < 3)) {
        const own = pidsOn(await scrape(simulator.metricsUrl));
        const viaCollector = pidsOn(await scrape(collector.metricsUrl));
        const now = Date.now();
        for (const pid of victims) {
          if (!own.has(pid) && !goneFrom.simulator.has(pid)) goneFrom.simulator.set(pid, now);
          if (!viaCollector.has(pid) && !goneFrom.collector.has(pid)) goneFrom.collector.set(pid, now);
        }
        await sleep(200);
      }
      const delays = (page: 'simulator' | 'collector') =>
        victims.map(
          (pid) => (goneFrom[page].get(pid) ?? Number.POSITIVE_INFINITY) - (exitedAt.get(pid) as number),
        );
      t.diagnostic(`exit -> gone, simulator: ${delays('simulator').join(', ')} ms`);
      t.diagnostic(
        `exit -> gone, collector: ${delays('collector').join(', ')} ms (expiration ${EXPIRATION_MS} ms)`,
      );
      for (const [i, pid] of victims.entries()) {
        assert.ok(
          (delays('simulator')[i] as number) <= INTERVAL_MS,
          `pid ${pid} left the simulator’s page within one interval`,
        );
        assert.ok(
          (delays('collector')[i] as number) <= bound,
          `pid ${pid} left the collector’s page within ${bound} ms`,
        );
      }
      // Gone for good, not only between two exports: looked at again once two more exports have
      // reached the collector's prometheus exporter.
      const sent = await sentPoints(collector);
      let rises = 0;
      let last = sent;
      await waitFor(
        'two more batches at the collector’s prometheus exporter',
        { timeoutMs: 20_000, everyMs: 100 },
        async () => {
          const now = await sentPoints(collector);
          if (now > last) rises++;
          last = now;
          return rises >= 2;
        },
      );
      const [own, viaCollector] = [
        pidsOn(await scrape(simulator.metricsUrl)),
        pidsOn(await scrape(collector.metricsUrl)),
      ];
      for (const pid of victims) {
        assert.ok(!own.has(pid), `pid ${pid} back on the simulator’s page`);
        assert.ok(!viaCollector.has(pid), `pid ${pid} back on the collector’s page`);
      }
    } finally {
      unsubscribe();
    }
  });
});
