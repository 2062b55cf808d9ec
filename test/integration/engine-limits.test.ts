/**
 * Every limit checked at the door, summed over what already runs, on the real engine and the real
 * machine's limits: fds per process, memory at the running simulations' peaks plus leaks, CPU, unstarted
 * and kept simulations. Each refusal names the limit and its value; nothing is spawned for a refused run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/engine/engine.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { readMachineLimits } from '../../src/engine/limits.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';

const MiB = 2 ** 20;

let engine: Engine;
before(() => {
  engine = new Engine({ maxProcesses: 1000 });
});
after(async () => {
  await engine.shutdown();
});

function create(profile: ProfileInput, target = engine, allowCpuOvercommit = false): Simulation {
  return target.createSimulation({
    name: profile.name,
    profile: validateProfile(profile),
    seed: 1,
    durationMs: undefined,
    chaos: false,
    allowCpuOvercommit,
  });
}

function refusedFor(limit: string, action: () => unknown): EngineError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof EngineError, `expected a refusal for ${limit}, got ${String(caught)}`);
  assert.equal(caught.code, 'limit_exceeded');
  assert.equal(caught.details.limit, limit, caught.message);
  return caught;
}

const CREATE = new URL('../fixtures/limits/create-simulation.ts', import.meta.url).pathname;

/** What the door of an engine running under `prlimit --nofile=N:N` says to `profile`. */
function createUnderFdLimit(limit: number, profile: ProfileInput): Record<string, unknown> {
  const output = execFileSync(
    'prlimit',
    [`--nofile=${limit}:${limit}`, process.execPath, CREATE, JSON.stringify(profile)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(output) as Record<string, unknown>;
}

test('a process holding more fds than the open-file limit allows is refused, naming the field', () => {
  // A child engine with a known hard limit (its workers inherit it): the test process keeps its own.
  const refused = createUnderFdLimit(4096, {
    name: 'fd-hog',
    templates: [
      { name: 'ok', count: 1, priority: 'low', fds: 100 },
      { name: 'hog', count: 1, priority: 'low', fds: 5000 },
    ],
  });
  assert.equal(refused.limit, 'RLIMIT_NOFILE');
  assert.equal(refused.value, 4096);
  assert.equal(refused.field, 'templates.1.fds');
  assert.match(String(refused.message), /templates\.1\.fds \(hog\): 5000 .*4096/);
  // At the limit itself it is admitted.
  assert.deepEqual(
    createUnderFdLimit(4096, {
      name: 'fd-fit',
      templates: [{ name: 'fit', count: 1, priority: 'low', fds: 4096 }],
    }),
    { ok: true },
  );
});

test('memory: a run is refused beside the peaks running simulations may still reach', async () => {
  // Growing patterns reserve their peak at once but hold almost nothing yet: nothing real is allocated.
  const machine = readMachineLimits();
  const half = Math.ceil((machine.memAvailableBytes * 0.5) / MiB);
  const grower = (name: string): ProfileInput => ({
    name,
    templates: [
      {
        name,
        count: 1,
        priority: 'low',
        memory: { pattern: 'growing', start: 1, max: half, per_minute: 0.01 },
      },
    ],
  });
  const first = create(grower('peak-a'));
  await engine.startSimulation(first.id);
  try {
    // Alone it would fit; beside the first one's peak it does not.
    const error = refusedFor('MemAvailable', () => create(grower('peak-b')));
    assert.match(error.message, /MemAvailable=\d+ MiB/);
    assert.equal(engine.listSimulations().filter((s) => s.spec.name === 'peak-b').length, 0);
  } finally {
    await engine.stopSimulation(first.id);
    engine.deleteSimulation(first.id);
  }
  // Once the first one stopped, the same run is admitted again.
  engine.deleteSimulation(create(grower('peak-b')).id);
});

test('memory leaks are summed: the one that would exceed the memory beside the others is refused', async () => {
  const simulation = create({ name: 'leaks', templates: [{ name: 'leaky-{i}', count: 6, priority: 'low' }] });
  await engine.startSimulation(simulation.id);
  const machine = readMachineLimits();
  // Each leak would add 35 % of MemAvailable by its end, an hour from now (a few MiB meanwhile).
  const hour = 3_600_000;
  const rate = (machine.memAvailableBytes * 0.35) / 3600;
  const pids = engine.processesOf(simulation.id).map((p) => p.pid);
  const leak = (pid: number) =>
    engine.injectFault({
      kind: 'memory-leak',
      simulationId: simulation.id,
      pids: new Set([pid]),
      leakBytesPerSecond: rate,
      durationMs: hour,
      origin: 'api',
    });
  try {
    leak(pids[0] as number);
    leak(pids[1] as number);
    // 3 x 35 % > 80 %: refused, although each one alone is far below half of MemAvailable.
    const error = refusedFor('MemAvailable', () => leak(pids[2] as number));
    assert.match(error.message, /memory leak/);
    assert.equal(engine.activeFaults().length, 2);
  } finally {
    for (const fault of engine.activeFaults()) engine.recoverFault(fault.id);
    await engine.stopSimulation(simulation.id);
    engine.deleteSimulation(simulation.id);
  }
});

test('CPU: runs are refused beyond 90 % of the CPUs, summed over what runs, unless over-commit is allowed', async () => {
  const { cpus } = readMachineLimits();
  // A growing CPU pattern reserves its maximum (50 % of a core each) but burns nothing for hours.
  // `count` fits within 90 % of the CPUs, twice `count` does not, on any number of CPUs.
  const count = Math.max(1, Math.floor((cpus * 90 * 0.6) / 50));
  const burner = (name: string): ProfileInput => ({
    name,
    templates: [
      {
        name: `${name}-{i}`,
        count,
        priority: 'low',
        cpu: { pattern: 'growing', start: 0, max: 50, per_minute: 0.001 },
      },
    ],
  });
  const first = create(burner('cpu-a'));
  await engine.startSimulation(first.id);
  try {
    const error = refusedFor('CPUs', () => create(burner('cpu-b')));
    assert.equal(error.details.value, cpus);
    assert.match(error.message, /ALLOW_CPU_OVERCOMMIT/);
    // Said explicitly, the same run is admitted.
    engine.deleteSimulation(create(burner('cpu-b'), engine, true).id);
    const lenient = new Engine({ maxProcesses: 10, allowCpuOvercommit: true });
    try {
      lenient.deleteSimulation(create(burner('cpu-c'), lenient).id);
    } finally {
      await lenient.shutdown();
    }
  } finally {
    await engine.stopSimulation(first.id);
    engine.deleteSimulation(first.id);
  }
});

test('created simulations are bounded, hold no plan, and the oldest ended ones make room', async () => {
  const big: ProfileInput = { name: 'big', templates: [{ name: 'idle-{i}', count: 5000, priority: 'low' }] };
  const small = new Engine({ maxProcesses: 5000, maxSimulations: 25, maxUnstarted: 20 });
  try {
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const created = Array.from({ length: 20 }, () => create(big, small));
    const grown = process.memoryUsage().heapUsed - heapBefore;
    // 20 x 5,000 planned entries would take over 10 MiB; profiles alone take little.
    assert.ok(grown < 4 * MiB, `20 created simulations grew the heap by ${Math.round(grown / 1024)} KiB`);
    const error = refusedFor('unstarted simulations', () => create(big, small));
    assert.equal(error.details.value, 20);
    for (const simulation of created) small.deleteSimulation(simulation.id);

    // Ended simulations are forgotten oldest first once 25 are kept.
    const ended: Simulation[] = [];
    for (let i = 0; i < 25; i++) {
      const simulation = create(
        { name: 'tiny', templates: [{ name: 'tiny', count: 1, priority: 'low' }] },
        small,
      );
      await small.startSimulation(simulation.id);
      await small.stopSimulation(simulation.id);
      ended.push(simulation);
    }
    create({ name: 'one-more', templates: [{ name: 'more', count: 1, priority: 'low' }] }, small);
    assert.throws(() => small.getSimulation((ended[0] as Simulation).id), /no simulation/);
    assert.equal(small.getSimulation((ended[1] as Simulation).id).state, 'stopped');
    assert.equal(small.listSimulations().length, 25);
  } finally {
    await small.shutdown();
  }
});
