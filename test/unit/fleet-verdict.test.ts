/**
 * The fleet verdict on constructed readings: each way a run can fail is named per shard, and a run
 * whose shards all answer, ended as expected, passes with the totals added up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ShardReading, ShardResults } from '../../src/fleet/collect.ts';
import { fleetJunit, fleetTermination } from '../../src/fleet/report.ts';
import { parseShards } from '../../src/fleet/shards.ts';
import { fleetVerdict } from '../../src/fleet/verdict.ts';

function reading(index: number, count: number, change: Partial<ShardResults> = {}): ShardReading {
  const results: ShardResults = {
    simulation_id: `sim-${index}`,
    name: `run-shard-${index}`,
    profile: 'high-cardinality',
    state: 'completed',
    seed: 7,
    shard: { index, count },
    start_at: '2026-12-02T10:00:00.000Z',
    start_skew_ms: 40,
    started_at: '2026-12-02T10:00:00.040Z',
    ended_at: '2026-12-02T10:10:00.000Z',
    processes: {
      planned: 10,
      live: { total: 0 },
      peak: { total: 10 },
      started: { total: 12, by_priority: { low: 12 } },
      exited: { total: 12, by_reason: { lifetime: { total: 2 }, stopped: { total: 10 } } },
    },
    series: { total: { current: 0, peak: 90 } },
    warning: null,
    failure_reason: null,
    ...change,
  };
  return { endpoint: `http://10.0.0.${index + 1}:8090`, reachable: true, results };
}

const run = (count: number) => Array.from({ length: count }, (_, i) => reading(i, count));

test('a run whose shards all ended passes, with the totals added up', () => {
  const report = fleetVerdict(run(4), { expectState: 'ended', expectProcesses: 40 });
  assert.equal(report.pass, true, JSON.stringify(report));
  assert.equal(report.totals.planned, 40);
  assert.equal(report.totals.started, 48);
  assert.deepEqual(report.totals.exited.by_reason, { lifetime: 8, stopped: 40 });
  assert.equal(report.totals.series.peak, 360);
});

test('each way a run fails is named, per shard', () => {
  const cases: Array<[string, ShardReading[], RegExp]> = [
    [
      'a shard unreachable',
      [...run(3).slice(0, 2), { endpoint: 'http://10.0.0.3:8090', reachable: false, error: 'ECONNREFUSED' }],
      /shard 2 of 3: no reachable/,
    ],
    [
      'a shard failed',
      [reading(0, 2), reading(1, 2, { state: 'failed', failure_reason: 'EAGAIN' })],
      /failed: EAGAIN/,
    ],
    [
      'a shard cut short',
      [reading(0, 2, { warning: 'ramp stopped after 3 of 10' }), reading(1, 2)],
      /cut short/,
    ],
    ['a shard still running', [reading(0, 2), reading(1, 2, { state: 'running' })], /is running/],
    ['two answers for one index', [reading(0, 2), reading(0, 2)], /more than one endpoint/],
    ['another run', [reading(0, 2), reading(1, 2, { seed: 8 })], /different seeds/],
    ['a different shard count', [reading(0, 2), reading(1, 3)], /of 3, but the run has 2/],
    ['too few processes', run(2), /plan 20 processes in all; the run has 30/],
    ['a late restart', [reading(0, 2), reading(1, 2, { start_skew_ms: 600_000 })], /600000 ms from START_AT/],
  ];
  for (const [what, readings, expected] of cases) {
    const report = fleetVerdict(readings, {
      expectState: 'ended',
      expectProcesses: what === 'too few processes' ? 30 : undefined,
      maxSkewMs: 60_000,
    });
    assert.equal(report.pass, false, what);
    const text = [...report.problems, ...report.shards.flatMap((s) => s.problems)].join('\n');
    assert.match(text, expected, what);
    assert.match(fleetJunit(report), /<failure /, what);
  }
});

test('the termination message fits in 4096 bytes however many shards fail', () => {
  const readings = Array.from({ length: 500 }, (_, i) => ({
    endpoint: `http://10.0.${i >> 8}.${i & 255}:8090`,
    reachable: false,
    error: 'ETIMEDOUT',
  }));
  const message = fleetTermination(fleetVerdict(readings, { expectShards: 500 }));
  assert.ok(Buffer.byteLength(message) <= 4096);
  assert.match(message, /^fleet: FAIL/);
});

test('--shards takes URLs or a DNS name, and refuses the rest naming it', () => {
  assert.deepEqual(parseShards('http://a:1,http://b:2/'), {
    kind: 'urls',
    urls: ['http://a:1', 'http://b:2'],
  });
  assert.deepEqual(parseShards('dns:sim-headless.ns.svc:8090'), {
    kind: 'dns',
    scheme: 'http',
    host: 'sim-headless.ns.svc',
    port: 8090,
  });
  assert.throws(() => parseShards('dns:x:99999'), /port 99999/);
  assert.throws(() => parseShards('http://user:pw@a:1'), /credentials/);
  assert.throws(() => parseShards('nope'), /not a URL/);
});
