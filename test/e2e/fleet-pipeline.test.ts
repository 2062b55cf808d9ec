/**
 * One verdict over all shards, pipeline included: two shards push OTLP to the real collector, a real
 * Prometheus scrapes it, and `fleet --prometheus` verifies each shard's series (selected by its
 * simulator.shard attribute) against that shard's ground truth. It passes; a shard whose series never
 * reach the pipeline fails the run, named.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { spawnChild, type TestChild } from '../helpers/children.ts';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';
import { waitFor } from '../helpers/wait.ts';

let collector: RunningCollector;
let prometheus: RunningPrometheus;
const shards: Array<{ child: TestChild; api: string }> = [];

async function startShard(index: number, env: Record<string, string>) {
  const child = spawnChild(process.execPath, [MAIN], {
    ...process.env,
    PROFILE: 'high-cardinality',
    PROCESS_COUNT: '8',
    SEED: '5',
    SHARD_INDEX: String(index),
    SHARD_COUNT: '2',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpGrpcEndpoint,
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_PORT: '0',
    ...env,
  });
  const ready = await waitFor(
    'the shard up',
    { timeoutMs: 30_000, everyMs: 50, lastSeen: () => child.log().slice(-1500) },
    () => /process-simulator ready .*api=(\S+)/.exec(child.log()),
  );
  shards.push({ child, api: ready[1] as string });
}

before(async () => {
  collector = await startCollector({
    overrides: ['exporters:\n  prometheus:\n    metric_expiration: 3s\n'],
  });
  prometheus = await startPrometheus([{ job: 'collector', url: collector.metricsUrl }], 1);
  await startShard(0, {});
  // Shard 1's series never reach the pipeline: it exports nothing.
  await startShard(1, { OTEL_METRICS_EXPORTER: 'none' });
});
after(async () => {
  await Promise.all(shards.map((shard) => shard.child.stop(5000)));
  await prometheus?.stop();
  await collector?.stop();
});

function fleet(urls: string[], ...args: string[]) {
  return spawnSync(
    process.execPath,
    [
      MAIN,
      'fleet',
      '--shards',
      urls.join(','),
      '--prometheus',
      prometheus.url,
      '--expect-state',
      'running',
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
}

test('the pipeline of each shard is verified: one that delivers passes, one whose series never arrive fails, named', async () => {
  const [good, silent] = shards.map((shard) => shard.api) as [string, string];
  const passing = fleet([good], '--expect-shards', '2', '--wait', '40s', '--json');
  // Alone, shard 0 misses its sibling (the run has two shards), but its own pipeline passes.
  const report = JSON.parse(passing.stdout) as {
    pass: boolean;
    missing: number[];
    pipeline: {
      pass: boolean;
      shards: Array<{ index: number; verdict: string; checked: number; problems: string[] }>;
    };
  };
  assert.deepEqual(report.missing, [1]);
  assert.equal(report.pipeline.pass, true, JSON.stringify(report.pipeline));
  assert.equal(report.pipeline.shards[0]?.index, 0);
  assert.ok((report.pipeline.shards[0]?.checked ?? 0) > 0);

  const both = fleet([good, silent], '--wait', '20s');
  assert.equal(both.status, 1, both.stdout + both.stderr);
  assert.match(both.stdout, /pipeline \(http:\/\/127\.0\.0\.1:\d+\): FAIL/);
  assert.match(both.stdout, /ok {3}shard 0: pass/);
  assert.match(both.stdout, /FAIL shard 1: fail, \d+ checked, \d+ failed\n\s+presence: /);
});
