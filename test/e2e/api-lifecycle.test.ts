/**
 * The simulation lifecycle over real HTTP against the real engine: what the API says is checked against
 * /proc and against the simulator's own /metrics.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Engine } from '../../src/engine/engine.ts';
import { SpawnError, type Spawner } from '../../src/engine/spawner.ts';
import { seriesPerProcess } from '../../src/simulator.ts';
import { PROCESS_METRICS } from '../../src/telemetry/process-metrics.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  type ApiSimulator,
  call,
  createTestApp,
  isAlive,
  PAGE_SIZE,
  procStatus,
  rssBytes,
  runSimulation,
  startApiSimulator,
} from './api-helpers.ts';

const PROFILE = {
  name: 'api-lifecycle',
  templates: [
    { name: 'api-crit', count: 1, priority: 'critical', memory: 4, fds: 6 },
    { name: 'api-web-{i}', count: 3, priority: 'high', memory: 8, threads: 2, fds: 10 },
    { name: 'api-job', count: 2, priority: 'low', memory: 2 },
  ],
};

/** Series on /metrics of one simulation, per Prometheus metric name, optionally for one priority. */
function seriesOnMetrics(text: string, simulationId: string, priority?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes(`simulator_simulation_id="${simulationId}"`)) continue;
    if (priority && !line.includes(`simulator_priority="${priority}"`)) continue;
    const name = line.slice(0, line.indexOf('{'));
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

const promName = (metric: string) => {
  const definition = PROCESS_METRICS.find((m) => m.name === metric);
  assert.ok(definition, `metric ${metric} is defined`);
  return definition.prometheusName + (definition.shape === 'counter' ? '_total' : '');
};

describe('simulation lifecycle over HTTP', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator();
  });
  after(async () => {
    await s.stop();
  });

  test('create, start, inspect, stop and delete, with processes and results that match /proc and /metrics', async () => {
    const created = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'lifecycle',
      type: PROFILE,
      parameters: { seed: 11 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.id;
    assert.equal(created.body.state, 'created');
    assert.equal(created.body.planned_processes, 6);
    assert.equal(created.body.seed, 11);
    assert.equal(created.headers.get('location'), `/api/v1/simulations/${id}`);

    assert.equal((await call(s.url, 'GET', `/api/v1/simulations/${id}`)).body.name, 'lifecycle');
    const listed = await call(s.url, 'GET', '/api/v1/simulations?status=created');
    assert.ok(listed.body.simulations.some((sim: { id: string }) => sim.id === id));
    const running0 = await call(s.url, 'GET', '/api/v1/simulations?status=running');
    assert.ok(!running0.body.simulations.some((sim: { id: string }) => sim.id === id));

    const started = await call(s.url, 'POST', `/api/v1/simulations/${id}/start`);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await waitFor('all 6 processes running', { timeoutMs: 10_000, everyMs: 100 }, async () => {
      const now = await call(s.url, 'GET', `/api/v1/simulations/${id}`);
      return now.body.state === 'running' && now.body.live_processes === 6;
    });
    assert.equal(
      (await call(s.url, 'POST', `/api/v1/simulations/${id}/start`)).status,
      409,
      'a second start conflicts',
    );
    assert.equal(
      (await call(s.url, 'DELETE', `/api/v1/simulations/${id}`)).status,
      409,
      'a running simulation cannot be deleted',
    );

    // The workers settle on their targets (threads, fds, RSS holding still), then one reading is taken
    // that both the API and /metrics use.
    const targets = new Map(
      PROFILE.templates.flatMap((t) =>
        t.name.includes('{i}') ? [1, 2, 3].map((i) => [t.name.replace('{i}', String(i)), t]) : [[t.name, t]],
      ) as Array<[string, (typeof PROFILE.templates)[number]]>,
    );
    const lastRss = new Map<number, number>();
    await waitFor('every worker settled on its targets', { timeoutMs: 10_000, everyMs: 100 }, () =>
      s.sim.engine.processesOf(id).every((p) => {
        const template = targets.get(p.name);
        const status = procStatus(p.pid);
        const rss = rssBytes(p.pid);
        const still = lastRss.get(p.pid) === rss;
        lastRss.set(p.pid, rss);
        return (
          template !== undefined &&
          Number(status?.Threads) === ('threads' in template ? template.threads : 1) &&
          readdirSync(`/proc/${p.pid}/fd`).length === ('fds' in template ? template.fds : 3) &&
          Math.abs(rss - template.memory * 2 ** 20) <= 0.05 * template.memory * 2 ** 20 &&
          still
        );
      }),
    );
    const sampledFrom = Date.now();
    await s.sim.sampler.sampleNow();
    const sampledBy = Date.now();
    const listing = await call(s.url, 'GET', `/api/v1/simulations/${id}/processes`);
    assert.equal(listing.status, 200);
    const processes: Array<Record<string, any>> = listing.body.processes;
    assert.equal(processes.length, 6);
    for (const process of processes) {
      const status = procStatus(process.pid);
      assert.ok(status, `${process.name} (${process.pid}) is in /proc`);
      assert.equal(status.Name, process.name, 'the name in /proc is the simulated name');
      assert.equal(process.threads, Number(status.Threads), `threads of ${process.name}`);
      assert.equal(process.fds, readdirSync(`/proc/${process.pid}/fd`).length, `fds of ${process.name}`);
      // A settled worker's RSS holds still: the API's reading and /proc's agree to a page.
      const rss = rssBytes(process.pid);
      assert.ok(
        Math.abs(process.rss_bytes - rss) <= PAGE_SIZE,
        `rss of ${process.name}: api ${process.rss_bytes}, /proc ${rss}`,
      );
      const sampledAt = Date.parse(process.sampled_at);
      assert.ok(
        sampledAt >= sampledFrom && sampledAt <= sampledBy,
        `${process.name} sampled at ${process.sampled_at}, the sample ran from ${new Date(sampledFrom).toISOString()} to ${new Date(sampledBy).toISOString()}`,
      );
      assert.match(process.state, /^[RSD]$/);
    }
    assert.deepEqual(processes.map((p) => p.name).sort(), [
      'api-crit',
      'api-job',
      'api-job',
      'api-web-1',
      'api-web-2',
      'api-web-3',
    ]);

    const results = (await call(s.url, 'GET', `/api/v1/simulations/${id}/results`)).body;
    assert.deepEqual(results.processes.started.by_priority, { critical: 1, high: 3, medium: 0, low: 2 });
    assert.equal(results.processes.live.total, 6);
    assert.equal(results.processes.peak.total, 6);
    assert.deepEqual(Object.keys(results.series.metrics).sort(), Object.keys(seriesPerProcess(false)).sort());
    assert.equal(results.series.metrics['process.cpu.time'].per_process, 3);
    assert.equal(results.series.metrics['process.disk.io'].per_process, 2);
    assert.equal(results.series.metrics['process.memory.usage'].current.total, 6);

    const metricsUrl = s.sim.telemetry.prometheusUrl;
    assert.ok(metricsUrl);
    const scraped = await (await fetch(metricsUrl)).text();
    const onMetrics = seriesOnMetrics(scraped, id);
    let totalOnMetrics = 0;
    for (const [metric, counts] of Object.entries<any>(results.series.metrics)) {
      assert.equal(
        onMetrics.get(promName(metric)) ?? 0,
        counts.current.total,
        `${metric}: series in results vs /metrics`,
      );
      totalOnMetrics += onMetrics.get(promName(metric)) ?? 0;
      for (const priority of ['critical', 'high', 'low']) {
        const perPriority = seriesOnMetrics(scraped, id, priority).get(promName(metric)) ?? 0;
        assert.equal(
          perPriority,
          counts.current.by_priority[priority],
          `${metric} ${priority}: results vs /metrics`,
        );
      }
    }
    assert.equal(results.series.total.current, totalOnMetrics);

    const pids = processes.map((p) => p.pid as number);
    const stopped = await call(s.url, 'POST', `/api/v1/simulations/${id}/stop`);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.state, 'stopped');
    assert.equal(stopped.body.live_processes, 0);
    for (const pid of pids) assert.equal(isAlive(pid), false, `${pid} is gone after stop`);
    assert.equal(
      (await call(s.url, 'POST', `/api/v1/simulations/${id}/stop`)).status,
      200,
      'stopping again changes nothing',
    );

    const final = (await call(s.url, 'GET', `/api/v1/simulations/${id}/results`)).body;
    assert.equal(final.processes.exited.by_reason.stopped.total, 6);
    assert.deepEqual(final.processes.exited.by_reason.stopped.by_priority, {
      critical: 1,
      high: 3,
      medium: 0,
      low: 2,
    });
    assert.equal(final.series.total.current, 0);
    assert.equal(final.series.metrics['process.cpu.time'].peak.total, 18);
    assert.equal(final.series.metrics['process.cpu.time'].peak.by_priority.high, 9);
    assert.equal(final.processes.live.total, 0);

    assert.equal((await call(s.url, 'DELETE', `/api/v1/simulations/${id}`)).status, 204);
    const gone = await call(s.url, 'GET', `/api/v1/simulations/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'not_found');
  });

  test('a simulation that reaches its duration completes on its own and its processes end', async () => {
    const id = await runSimulation(s.url, {
      name: 'short',
      type: PROFILE,
      duration: '2s',
      parameters: { process_count: 2 },
    });
    const pids = (await call(s.url, 'GET', `/api/v1/simulations/${id}/processes`)).body.processes.map(
      (p: { pid: number }) => p.pid,
    );
    assert.equal(pids.length, 2);
    const done = await waitFor('state completed', { timeoutMs: 10_000, everyMs: 100 }, async () => {
      const sim = (await call(s.url, 'GET', `/api/v1/simulations/${id}`)).body;
      return sim.state === 'completed' && sim;
    });
    assert.equal(done.duration, '2s');
    assert.ok(Date.parse(done.ended_at) - Date.parse(done.started_at) >= 2000);
    for (const pid of pids) assert.equal(isAlive(pid), false);
  });

  test('a stop of a never-started simulation conflicts; an unknown id is 404 with the error shape', async () => {
    const created = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'idle',
      type: 'realistic',
      parameters: { process_count: 1 },
    });
    const stop = await call(s.url, 'POST', `/api/v1/simulations/${created.body.id}/stop`);
    assert.equal(stop.status, 409);
    assert.equal(stop.body.error.code, 'conflict');
    assert.equal((await call(s.url, 'DELETE', `/api/v1/simulations/${created.body.id}`)).status, 204);
    for (const path of [
      '/api/v1/simulations/nope',
      '/api/v1/simulations/nope/results',
      '/api/v1/simulations/nope/processes',
    ]) {
      const missing = await call(s.url, 'GET', path);
      assert.equal(missing.status, 404, path);
      assert.match(missing.body.error.message, /nope/);
    }
  });
});

describe('several simulations within the global cap', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator({ MAX_PROCESSES: '8' });
  });
  after(async () => {
    await s.stop();
  });

  test('run side by side until the cap, and one more is refused up front naming MAX_PROCESSES', async () => {
    const first = await runSimulation(s.url, { name: 'a', type: PROFILE, parameters: { process_count: 5 } });
    const refused = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'b',
      type: PROFILE,
      parameters: { process_count: 5 },
    });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'limit_exceeded');
    assert.equal(refused.body.error.details.limit, 'MAX_PROCESSES');
    assert.match(refused.body.error.message, /MAX_PROCESSES=8/);
    const second = await runSimulation(s.url, { name: 'c', type: PROFILE, parameters: { process_count: 3 } });
    assert.equal(s.sim.engine.liveCount, 8);
    for (const id of [first, second]) {
      assert.equal((await call(s.url, 'GET', `/api/v1/simulations/${id}`)).body.state, 'running');
    }
    const over = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'd',
      type: PROFILE,
      parameters: { process_count: 9 },
    });
    assert.equal(over.status, 422, 'process_count above MAX_PROCESSES is a validation error');
    assert.equal(over.body.error.issues[0].field, 'parameters.process_count');
    assert.equal(over.body.error.issues[0].value, 9);
  });
});

test('a simulation whose processes cannot be spawned fails with the reason', async () => {
  const failing: Spawner = {
    spawn: async () => {
      throw new SpawnError('EAGAIN', 'fork refused: Resource temporarily unavailable');
    },
  };
  const engine = new Engine({ spawner: failing });
  try {
    const app = createTestApp(engine);
    const json = { 'content-type': 'application/json' };
    const created = await app.request('/api/v1/simulations', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'doomed', type: PROFILE }),
    });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    const started = await app.request(`/api/v1/simulations/${id}/start?wait=true`, { method: 'POST' });
    const body = (await started.json()) as Record<string, unknown>;
    assert.equal(started.status, 200);
    assert.equal(body.state, 'failed');
    assert.match(String(body.failure_reason), /Resource temporarily unavailable/);
    const results = (await (await app.request(`/api/v1/simulations/${id}/results`)).json()) as Record<
      string,
      any
    >;
    assert.equal(results.state, 'failed');
    assert.match(results.failure_reason, /fork refused/);
  } finally {
    await engine.shutdown();
  }
});
