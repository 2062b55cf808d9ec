/**
 * Chaos through the API changes /proc as promised, recovers on DELETE, and never reaches a process the
 * simulator did not start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { assertCpuShare, burnsWithin, describeCpu, favour, measureCpu } from '../helpers/cpu-share.ts';
import { readUntil, waitFor } from '../helpers/wait.ts';
import {
  type ApiSimulator,
  call,
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
      targets: { cpu_percent: number; rss_bytes: number };
    }>;
  /** The targets the engine last wrote for `pid` (its control tick applies a fault within a second). */
  const targetsOf = async (pid: number) => {
    const found = (await processes()).find((p) => p.pid === pid);
    assert.ok(found, `${pid} is live`);
    return found.targets;
  };
  const pidOf = async (name: string) => {
    const found = (await processes()).find((p) => p.name === name);
    assert.ok(found, `${name} is live`);
    return found.pid;
  };

  before(async () => {
    s = await startApiSimulator();
    simulationId = await runSimulation(s.url, { name: 'chaos', type: PROFILE, parameters: { seed: 5 } });
    // Every worker holds its 4 MiB first, so that growth and release are measured from a settled RSS.
    await waitFor('every worker at its 4 MiB', { timeoutMs: 10_000, everyMs: 100 }, async () =>
      (await processes()).every((p) => Math.abs(rssBytes(p.pid) - 4 * 2 ** 20) <= 0.05 * 4 * 2 ** 20),
    );
  });
  after(async () => {
    await s.stop();
  });

  test('a CPU spike raises the process CPU in /proc and DELETE brings it back down', async (t) => {
    const pid = await pidOf('chaos-web-1');
    // The 60 % must not depend on an idle machine: the spiked worker gets the CPU it asks for, and the
    // share is judged against what it could get (cpu-share.ts).
    favour(pid);
    const idle = await measureCpu(pid, 500);
    assert.ok(idle.runS <= 0.1 * idle.wallS, `idle before the spike: ${describeCpu(idle)}`);
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
    await waitFor('the spike in the targets', { timeoutMs: 5000, everyMs: 50 }, async () => {
      return (await targetsOf(pid)).cpu_percent === 60;
    });
    assert.ok(await burnsWithin(pid, 30, 5000), 'the spiked worker starts burning');
    const during = await measureCpu(pid, 1500);
    assertCpuShare(during, 0.6, 0.1, 'a 60 % spike');
    const active = await call(s.url, 'GET', '/api/v1/chaos');
    assert.ok(
      active.body.faults.some((f: { id: string }) => f.id === spike.body.id),
      'listed as active',
    );

    const deletedFrom = Date.now();
    const recovered = await call(s.url, 'DELETE', `/api/v1/chaos/${spike.body.id}`);
    const deletedBy = Date.now();
    assert.equal(recovered.status, 200);
    assert.equal((await targetsOf(pid)).cpu_percent, 0, 'the recovery rewrites the target at once');
    // The worker changes its share at the end of the 100 ms period it is in: that period may still burn
    // its 60 ms, nothing after it.
    const afterwards = await measureCpu(pid, 1000);
    assert.ok(afterwards.runS <= 0.07, `CPU after recovery beyond one period: ${describeCpu(afterwards)}`);
    t.diagnostic(
      `chaos-web-1 during a 60% spike: ${describeCpu(during)}; after DELETE: ${describeCpu(afterwards)}`,
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
    const endedAt = Date.parse(entry.ended_at);
    assert.ok(
      endedAt >= deletedFrom && endedAt <= deletedBy && endedAt >= Date.parse(entry.at),
      `ended at ${entry.ended_at}, deleted between ${new Date(deletedFrom).toISOString()} and ${new Date(deletedBy).toISOString()}, started ${entry.at}`,
    );
  });

  test('a memory leak grows RSS at the requested rate and DELETE releases it', async (t) => {
    const pid = await pidOf('chaos-web-2');
    const before = rssBytes(pid);
    const baseTarget = (await targetsOf(pid)).rss_bytes;
    const rate = (240 * 2 ** 20) / 60;
    const leak = await call(s.url, 'POST', '/api/v1/chaos/memory-leak', {
      process_pattern: 'chaos-web-2',
      leak_rate: '240MiB/min',
      duration: '1m',
    });
    assert.equal(leak.status, 201, JSON.stringify(leak.body));
    assert.equal(leak.body.leak_bytes_per_second, rate);
    // The engine raises the target once a second by the rate times the time since the start: each change
    // seen, with when it was seen, until four have come.
    const seen: Array<{ atMs: number; target: number }> = [];
    await waitFor(
      'four raises of the target',
      { timeoutMs: 15_000, everyMs: 50, lastSeen: () => JSON.stringify(seen) },
      async () => {
        const target = (await targetsOf(pid)).rss_bytes;
        if (target !== (seen.at(-1)?.target ?? baseTarget)) seen.push({ atMs: Date.now(), target });
        return seen.length >= 4;
      },
    );
    const first = seen[0] as { atMs: number; target: number };
    const last = seen.at(-1) as { atMs: number; target: number };
    const measuredRate = (last.target - first.target) / ((last.atMs - first.atMs) / 1000);
    assert.ok(
      measuredRate > rate * 0.8 && measuredRate < rate * 1.2,
      `the target rose ${(measuredRate / 2 ** 20).toFixed(2)} MiB/s, asked ${(rate / 2 ** 20).toFixed(2)} MiB/s`,
    );
    // ... and the RSS follows it: within 5 % of the target read at the same moment, plus the one second
    // of leak the target moves between two control ticks.
    const near = ({ rss, target }: { rss: number; target: number }) =>
      Math.abs(rss - target) <= 0.05 * target + rate;
    const reading = await readUntil(
      async () => ({ rss: rssBytes(pid), target: (await targetsOf(pid)).rss_bytes }),
      near,
      3000,
    );
    assert.ok(near(reading), `RSS ${reading.rss} vs target ${reading.target}`);
    const grown = reading.rss - before;
    t.diagnostic(
      `target rose ${(measuredRate / 2 ** 20).toFixed(2)} MiB/s at 240MiB/min; RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB to ${(reading.target / 2 ** 20).toFixed(1)} MiB targeted`,
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
    // Dead in the kernel comes before the engine has handled the exit: until then the list may still
    // hold a killed PID, so the wait is for three processes none of which is a killed one.
    const replaced = await waitFor(
      'three web processes again, none of them a killed PID',
      { timeoutMs: 10_000, everyMs: 100 },
      async () => {
        const web = (await processes()).filter((p) => p.name.startsWith('chaos-web-'));
        return web.length === 3 && web.every((p) => !kill.body.pids.includes(p.pid)) && web;
      },
    );
    assert.equal(new Set(replaced.map((p) => p.pid)).size, 3, 'three distinct processes');
    const results = (await call(s.url, 'GET', `/api/v1/simulations/${simulationId}/results`)).body;
    assert.equal(results.processes.exited.by_reason.killed.by_priority.high, 2);
    const entry = results.chaos.find((c: { fault_id: string }) => c.fault_id === kill.body.id);
    assert.deepEqual([...entry.pids].sort(), [...kill.body.pids].sort());

    // chaos-batch (restart: never) killed together with a witness whose template restarts at once: once
    // the witness is back, a wrong replacement of chaos-batch would be back too, however slow the machine.
    const batch = await pidOf('chaos-batch');
    const witness = await pidOf('chaos-web-3');
    for (const pattern of ['chaos-batch', 'chaos-web-3']) {
      const killed = await call(s.url, 'POST', '/api/v1/chaos/process-kill', { process_pattern: pattern });
      assert.equal(killed.status, 201, `${pattern}: ${JSON.stringify(killed.body)}`);
    }
    await waitFor('chaos-batch dead', { timeoutMs: 5000, everyMs: 100 }, () => !isAlive(batch));
    const web = await waitFor(
      'the witness chaos-web-3 replaced',
      { timeoutMs: 10_000, everyMs: 50 },
      async () => {
        const live = await processes();
        const replaced = live.find((p) => p.name === 'chaos-web-3');
        return replaced !== undefined && replaced.pid !== witness && live;
      },
    );
    assert.ok(!web.some((p) => p.name === 'chaos-batch'), 'restart: never is not replaced');
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
      // Once the processes it did kill are dead, a signal sent to the bystander would have landed too.
      assert.ok(everything.body.pids.length > 0, 'the kill hit the simulator’s own processes');
      for (const victim of everything.body.pids as number[])
        await waitFor(`${victim} dead`, { timeoutMs: 5000, everyMs: 50 }, () => !isAlive(victim));
      assert.ok(isAlive(pid), 'the bystander is still alive');
    } finally {
      process.kill(-pid, 'SIGKILL');
      await new Promise((resolve) => bystander.once('exit', resolve));
    }
    assert.equal(isAlive(pid), false);
  });
});
