/**
 * Shards for real on this machine: several `node src/main.ts` instances with SHARD_INDEX/SHARD_COUNT
 * on their own ports, started together by one START_AT. Their processes are disjoint and add up to the
 * whole run the `plan` command prints, every series names its shard, a late shard starts at once and
 * reports its skew, and a shard waiting for START_AT can be started by hand.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { spawnChild, type TestChild } from '../helpers/children.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

const children: TestChild[] = [];
after(async () => {
  await Promise.all(children.map((child) => child.stop(5000)));
});

interface Shard {
  child: TestChild;
  api: string;
  metrics: string;
}

async function startShard(env: Record<string, string>): Promise<Shard> {
  const child = spawnChild(process.execPath, [MAIN], {
    ...process.env,
    PROFILE: 'high-cardinality',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_PORT: '0',
    ...env,
  });
  children.push(child);
  const ready = await waitFor(
    'the shard to be up',
    { timeoutMs: 30_000, everyMs: 50, lastSeen: () => child.log().slice(-2000) },
    () => {
      if (child.exited()) throw new Error(`shard exited:\n${child.log()}`);
      return /process-simulator ready metrics=(\S+) api=(\S+)/.exec(child.log());
    },
  );
  return { child, metrics: ready[1] as string, api: ready[2] as string };
}

async function get<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

interface SimulationView {
  id: string;
  state: string;
  shard: { index: number; count: number } | null;
  start_at: string | null;
  planned_processes: number;
}

async function simulationOf(shard: Shard): Promise<SimulationView> {
  const { simulations } = await get<{ simulations: SimulationView[] }>(`${shard.api}/api/v1/simulations`);
  assert.equal(simulations.length, 1);
  return simulations[0] as SimulationView;
}

test('three shards started by one START_AT hold the whole run, disjoint, each series naming its shard', async () => {
  const total = 40;
  const seed = 7;
  const startAt = new Date(Date.now() + 6000).toISOString();
  const shards = await Promise.all(
    [0, 1, 2].map((index) =>
      startShard({
        PROCESS_COUNT: String(total),
        SEED: String(seed),
        SHARD_INDEX: String(index),
        SHARD_COUNT: '3',
        START_AT: startAt,
      }),
    ),
  );
  // Waiting for the common start: created, nothing spawned.
  for (const [index, shard] of shards.entries()) {
    const simulation = await simulationOf(shard);
    assert.deepEqual(simulation.shard, { index, count: 3 });
    assert.equal(simulation.start_at, startAt);
    if (Date.now() < Date.parse(startAt) - 500) assert.equal(simulation.state, 'created');
  }
  const whole = JSON.parse(
    execFileSync(
      process.execPath,
      [MAIN, 'plan', '-p', 'high-cardinality', '-n', String(total), '-s', String(seed), '--json'],
      { encoding: 'utf8' },
    ),
  ) as Array<{ name: string }>;
  const names: string[] = [];
  for (const shard of shards) {
    const simulation = await simulationOf(shard);
    const processes = await waitFor(
      `shard ${shard.api} running its ${simulation.planned_processes} processes`,
      { timeoutMs: 30_000 },
      async () => {
        const list = await get<{ processes: Array<{ name: string }> }>(
          `${shard.api}/api/v1/simulations/${simulation.id}/processes`,
        );
        return list.processes.length === simulation.planned_processes && list.processes;
      },
    );
    names.push(...processes.map((p) => p.name));
    const results = await get<{ started_at: string; start_skew_ms: number }>(
      `${shard.api}/api/v1/simulations/${simulation.id}/results`,
    );
    assert.ok(Date.parse(results.started_at) >= Date.parse(startAt), 'not before START_AT');
    assert.ok(results.start_skew_ms >= 0, `skew ${results.start_skew_ms}`);
  }
  assert.equal(names.length, total, 'the shards add up to the whole run');
  assert.equal(new Set(names).size, total, 'no name on two shards');
  assert.deepEqual(
    [...names].sort(),
    whole.map((p) => p.name).sort(),
    'exactly the processes of the whole run',
  );
  // Every process series on each shard's /metrics carries that shard's index.
  for (const [index, shard] of shards.entries()) {
    const page = await waitFor('a sample on /metrics', { timeoutMs: 10_000 }, async () => {
      const text = await (await fetch(shard.metrics)).text();
      return text.includes('process_threads{') && text;
    });
    const series = page.split('\n').filter((line) => line.startsWith('process_threads{'));
    assert.ok(series.length > 0);
    for (const line of series) assert.match(line, new RegExp(`simulator_shard="${index}"`), line);
  }
});

test('a shard up after START_AT starts at once and reports its skew; a waiting one starts by hand', async () => {
  const startAt = Date.now() + 1500;
  const late = await (async () => {
    await sleep(Math.max(0, startAt + 1000 - Date.now()));
    return startShard({
      PROCESS_COUNT: '6',
      SHARD_INDEX: '1',
      SHARD_COUNT: '2',
      START_AT: String(startAt / 1000),
    });
  })();
  const simulation = await simulationOf(late);
  const results = await waitFor('the late shard running', { timeoutMs: 20_000 }, async () => {
    const r = await get<{ state: string; start_skew_ms: number | null }>(
      `${late.api}/api/v1/simulations/${simulation.id}/results`,
    );
    return r.state === 'running' && r;
  });
  assert.ok((results.start_skew_ms ?? 0) >= 1000, `late by ${results.start_skew_ms} ms`);

  const waiting = await startShard({
    PROCESS_COUNT: '6',
    SHARD_INDEX: '0',
    SHARD_COUNT: '2',
    START_AT: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const paused = await simulationOf(waiting);
  assert.equal(paused.state, 'created');
  const started = await fetch(`${waiting.api}/api/v1/simulations/${paused.id}/start?wait=true`, {
    method: 'POST',
  });
  assert.equal(started.status, 200);
  const byHand = await get<{ state: string; start_skew_ms: number }>(
    `${waiting.api}/api/v1/simulations/${paused.id}/results`,
  );
  assert.equal(byHand.state, 'running');
  assert.ok(byHand.start_skew_ms < -3_500_000, `started ${byHand.start_skew_ms} ms relative to START_AT`);
});

test('one verdict over all shards: it passes, then a shard killed mid-run fails it, naming the shard', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'psim-fleet-'));
  try {
    const shards = await Promise.all(
      [0, 1, 2].map((index) =>
        startShard({ PROCESS_COUNT: '12', SEED: '11', SHARD_INDEX: String(index), SHARD_COUNT: '3' }),
      ),
    );
    const urls = shards.map((shard) => shard.api).join(',');
    const fleet = (...args: string[]) =>
      spawnSync(process.execPath, [MAIN, 'fleet', '--shards', urls, ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const passing = fleet('--expect-processes', '12', '--expect-state', 'running', '--wait', '20s', '--json');
    assert.equal(passing.status, 0, `${passing.stdout}${passing.stderr}`);
    const report = JSON.parse(passing.stdout) as {
      pass: boolean;
      totals: { planned: number; started: number };
    };
    assert.equal(report.totals.planned, 12);
    assert.equal(report.totals.started, 12);

    // Shard 1 dies outright (its node went away): the run must look failed, and say which shard.
    process.kill(shards[1]?.child.pid as number, 'SIGKILL');
    await waitFor('shard 1 gone', { timeoutMs: 10_000 }, () => shards[1]?.child.exited());
    const junit = join(tmp, 'fleet.xml');
    const message = join(tmp, 'termination-log');
    const failing = fleet('--expect-processes', '12', '--junit', junit, '--termination-log', message);
    assert.equal(failing.status, 1, `${failing.stdout}${failing.stderr}`);
    assert.match(failing.stdout, /^fleet: FAIL/);
    assert.match(failing.stdout, /shard 1 of 3: no reachable simulator holds it/);
    assert.match(
      failing.stdout,
      new RegExp(`FAIL .*${shards[1]?.api.replace(/[.:/]/g, '\\$&')}.*\\n.*unreachable`),
    );
    assert.match(readFileSync(junit, 'utf8'), /<failure message="[^"]*shard 1 of 3/);
    assert.match(readFileSync(message, 'utf8'), /^fleet: FAIL/);
    assert.ok(statSync(message).size <= 4096);

    // Nothing answers at all: a bad --shards, exit 2.
    const nowhere = spawnSync(process.execPath, [MAIN, 'fleet', '--shards', 'http://127.0.0.1:1'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(nowhere.status, 2, nowhere.stdout + nowhere.stderr);
    const bad = spawnSync(process.execPath, [MAIN, 'fleet', '--shards', 'ftp://x'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not an http\(s\) URL/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
