/**
 * Chaos through the API changes /proc as promised, recovers on DELETE, and never reaches a process the
 * simulator did not start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import {
  type ApiSimulator,
  call,
  cpuPercentOver,
  isAlive,
  rssBytes,
  runSimulation,
  startApiSimulator,
} from './api-helpers.ts';

const PROFILE = {
  name: 'api-chaos',
  templates: [
    { name: 'chaos-db', count: 1, priority: 'critical', memory: 4 },
    { name: 'chaos-web-{i}', count: 3, priority: 'high', memory: 4, restart: 'always' },
    { name: 'chaos-batch', count: 1, priority: 'low', memory: 4, restart: 'never' },
  ],
};

describe('chaos over HTTP', () => {
  let s: ApiSimulator;
  let simulationId: string;
  const processes = async () =>
    (await call(s.url, 'GET', `/api/v1/simulations/${simulationId}/processes`)).body.processes as Array<{
      pid: number;
      name: string;
    }>;
  const pidOf = async (name: string) => {
    const found = (await processes()).find((p) => p.name === name);
    assert.ok(found, `${name} is live`);
    return found.pid;
  };

  before(async () => {
    s = await startApiSimulator();
    simulationId = await runSimulation(s.url, { name: 'chaos', type: PROFILE, parameters: { seed: 5 } });
    // workers settle on their memory target first
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
  after(async () => {
    await s.stop();
  });

  test('a CPU spike raises the process CPU in /proc and DELETE brings it back down', async (t) => {
    const pid = await pidOf('chaos-web-1');
    assert.ok((await cpuPercentOver(pid, 500)) < 10, 'idle before the spike');
    const spike = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: 'chaos-web-1',
      intensity: 60,
      duration: '30s',
      simulation_id: simulationId,
    });
    assert.equal(spike.status, 201, JSON.stringify(spike.body));
    assert.deepEqual(spike.body.pids, [pid]);
    assert.deepEqual(spike.body.names, ['chaos-web-1']);
    assert.equal(spike.body.intensity_percent, 60);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = await cpuPercentOver(pid, 1500);
    assert.ok(during > 35 && during < 90, `CPU during a 60% spike: ${during.toFixed(1)}%`);
    const active = await call(s.url, 'GET', '/api/v1/chaos');
    assert.ok(
      active.body.faults.some((f: { id: string }) => f.id === spike.body.id),
      'listed as active',
    );

    const recovered = await call(s.url, 'DELETE', `/api/v1/chaos/${spike.body.id}`);
    assert.equal(recovered.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const afterwards = await cpuPercentOver(pid, 1000);
    assert.ok(afterwards < 10, `CPU after recovery: ${afterwards.toFixed(1)}%`);
    t.diagnostic(
      `CPU of one core from /proc: ${during.toFixed(1)}% during a 60% spike, ${afterwards.toFixed(1)}% after DELETE`,
    );
    assert.ok(
      !(await call(s.url, 'GET', '/api/v1/chaos')).body.faults.some(
        (f: { id: string }) => f.id === spike.body.id,
      ),
    );
    assert.equal(
      (await call(s.url, 'DELETE', `/api/v1/chaos/${spike.body.id}`)).status,
      404,
      'an ended fault is gone',
    );

    const timeline = (await call(s.url, 'GET', `/api/v1/simulations/${simulationId}/results`)).body.chaos;
    const entry = timeline.find((c: { fault_id: string }) => c.fault_id === spike.body.id);
    assert.ok(entry, 'in the results timeline');
    assert.deepEqual(entry.pids, [pid]);
    assert.ok(entry.ended_at, 'with its end');
  });

  test('a memory leak grows RSS at the requested rate and DELETE releases it', async (t) => {
    const pid = await pidOf('chaos-web-2');
    const before = rssBytes(pid);
    const leak = await call(s.url, 'POST', '/api/v1/chaos/memory-leak', {
      process_pattern: 'chaos-web-2',
      leak_rate: '240MiB/min',
      duration: '1m',
    });
    assert.equal(leak.status, 201, JSON.stringify(leak.body));
    assert.equal(leak.body.leak_bytes_per_second, (240 * 2 ** 20) / 60);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const grown = rssBytes(pid) - before;
    const expected = ((240 * 2 ** 20) / 60) * ((Date.now() - started) / 1000);
    // the control loop applies the leak once a second, so RSS trails the ideal line by up to a second
    assert.ok(
      grown > expected * 0.5 && grown < expected * 1.3,
      `grew ${grown >> 20} MiB, expected about ${Math.round(expected / 2 ** 20)} MiB`,
    );

    t.diagnostic(
      `RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB in 3 s at 240MiB/min (ideal ${(expected / 2 ** 20).toFixed(1)} MiB)`,
    );
    assert.equal((await call(s.url, 'DELETE', `/api/v1/chaos/${leak.body.id}`)).status, 200);
    await waitFor(
      'RSS back near its target',
      { timeoutMs: 5000, everyMs: 100 },
      () => rssBytes(pid) < before + (4 << 20),
    );
  });

  test('a process kill ends the chosen PIDs, which are replaced when their template restarts them', async () => {
    const victims = (await processes()).filter((p) => p.name.startsWith('chaos-web-')).map((p) => p.pid);
    const kill = await call(s.url, 'POST', '/api/v1/chaos/process-kill', {
      process_pattern: 'chaos-web-*',
      count: 2,
      signal: 'SIGTERM',
    });
    assert.equal(kill.status, 201, JSON.stringify(kill.body));
    assert.equal(kill.body.pids.length, 2);
    assert.equal(kill.body.signal, 'SIGTERM');
    for (const pid of kill.body.pids) {
      assert.ok(victims.includes(pid));
      await waitFor(`${pid} dead`, { timeoutMs: 5000, everyMs: 100 }, () => !isAlive(pid));
    }
    const replaced = await waitFor(
      'three web processes again',
      { timeoutMs: 10_000, everyMs: 100 },
      async () => {
        const web = (await processes()).filter((p) => p.name.startsWith('chaos-web-'));
        return web.length === 3 && web;
      },
    );
    for (const p of replaced) assert.ok(!kill.body.pids.includes(p.pid), 'replacements have new PIDs');
    const results = (await call(s.url, 'GET', `/api/v1/simulations/${simulationId}/results`)).body;
    assert.equal(results.processes.exited.by_reason.killed.by_priority.high, 2);
    const entry = results.chaos.find((c: { fault_id: string }) => c.fault_id === kill.body.id);
    assert.deepEqual([...entry.pids].sort(), [...kill.body.pids].sort());

    const batch = await pidOf('chaos-batch');
    assert.equal(
      (await call(s.url, 'POST', '/api/v1/chaos/process-kill', { process_pattern: 'chaos-batch' })).status,
      201,
    );
    await waitFor('chaos-batch dead', { timeoutMs: 5000, everyMs: 100 }, () => !isAlive(batch));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(!(await processes()).some((p) => p.name === 'chaos-batch'), 'restart: never is not replaced');
  });

  test('critical processes are hit only when named exactly or explicitly included', async () => {
    const db = await pidOf('chaos-db');
    const wildcard = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: 'chaos-d*',
      intensity: 20,
      duration: '2s',
    });
    assert.equal(wildcard.status, 404, 'a wildcard does not reach a critical process');
    assert.equal(wildcard.body.error.code, 'no_match');
    const all = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: '*',
      intensity: 20,
      duration: '2s',
    });
    assert.equal(all.status, 201);
    assert.ok(!all.body.pids.includes(db), '* spares the critical process');
    const included = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: 'chaos-d*',
      intensity: 20,
      duration: '2s',
      include_critical: true,
    });
    assert.equal(included.status, 201);
    assert.deepEqual(included.body.pids, [db]);
    const exact = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: 'chaos-db',
      intensity: 20,
      duration: '2s',
    });
    assert.deepEqual(exact.body.pids, [db]);
    for (const fault of [all, included, exact]) await call(s.url, 'DELETE', `/api/v1/chaos/${fault.body.id}`);
  });

  test('a leak larger than half of MemAvailable is refused before it starts', async () => {
    const refused = await call(s.url, 'POST', '/api/v1/chaos/memory-leak', {
      process_pattern: 'chaos-web-*',
      leak_rate: '1GiB/min',
      duration: '24h',
    });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'limit_exceeded');
    assert.equal(refused.body.error.details.limit, 'MemAvailable');
  });

  test('a process outside the simulator survives every kill request aimed at it', async () => {
    const bystander = spawn('/bin/sleep', ['60'], { stdio: 'ignore', detached: true });
    const pid = bystander.pid;
    assert.ok(pid);
    try {
      assert.ok(isAlive(pid));
      for (const pattern of ['sleep', String(pid), `${pid}*`, 's*p']) {
        const response = await call(s.url, 'POST', '/api/v1/chaos/process-kill', {
          process_pattern: pattern,
          count: 50,
        });
        assert.equal(response.status, 404, `pattern ${pattern}: ${JSON.stringify(response.body)}`);
      }
      for (const body of [
        { pid },
        { process_pattern: 'sleep', pid },
        { process_pattern: 'sleep', pids: [pid] },
        { process_pattern: '../sleep' },
        { process_pattern: 'sleep; kill -9 1' },
      ]) {
        const response = await call(s.url, 'POST', '/api/v1/chaos/process-kill', body);
        assert.equal(response.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      }
      // a kill of everything the simulator owns leaves the bystander untouched
      const everything = await call(s.url, 'POST', '/api/v1/chaos/process-kill', {
        process_pattern: '*',
        count: 50,
        include_critical: true,
      });
      assert.equal(everything.status, 201);
      assert.ok(!everything.body.pids.includes(pid));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(isAlive(pid), 'the bystander is still alive');
    } finally {
      process.kill(-pid, 'SIGKILL');
      await new Promise((resolve) => bystander.once('exit', resolve));
    }
    assert.equal(isAlive(pid), false);
  });
});
