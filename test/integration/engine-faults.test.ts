/**
 * Faults at any timing cannot take the engine down: generated sequences of spikes, leaks, recoveries,
 * kills and stops on real workers, with faults ending in the same control tick as each other, as a
 * recovery or as a stop; random chaos at a hundred draws a second; and faults the door refuses. After
 * each: the engine still answers, every fault ended exactly once, and the stop completed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { Engine } from '../../src/engine/engine.ts';
import type { TimedEvent } from '../../src/engine/events.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { createNodeSpawner } from '../../src/engine/spawner.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';
import { isAlive } from '../helpers/proc.ts';
import { sleep, waitUntil } from '../helpers/wait.ts';

const IDLE: ProfileInput = {
  name: 'fault-timing',
  templates: [{ name: 'victim-{i}', count: 3, priority: 'low', restart: 'always' }],
};

const events: TimedEvent[] = [];
const warnings: string[] = [];
let engine: Engine;

/**
 * A fresh engine per test, made inside the test: an error thrown from one of its timers then fails
 * that test rather than a shared hook that already ended.
 */
function useEngine(t: TestContext): Engine {
  // A short control interval makes deadlines, recoveries and ticks collide far more often.
  engine = new Engine({
    maxProcesses: 100,
    controlIntervalMs: 20,
    chaosIntervalMs: 10,
    stopGraceMs: 1000,
    warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
  });
  // Sequence numbers start again with each engine's event bus.
  events.length = 0;
  engine.events.subscribe((event) => events.push(event));
  t.after(() => engine.shutdown());
  return engine;
}

async function start(profile: ProfileInput, seed = 1, chaos = false): Promise<Simulation> {
  const simulation = engine.createSimulation({
    name: profile.name,
    profile: validateProfile(profile),
    seed,
    durationMs: undefined,
    chaos,
  });
  await engine.startSimulation(simulation.id);
  return simulation;
}

/** Every ChaosStarted of a lasting fault has exactly one ChaosEnded. */
function assertEachFaultEndedOnce(since: number): void {
  const mine = events.filter((event) => event.seq > since);
  const started = mine.filter((e) => e.type === 'ChaosStarted' && e.kind !== 'process-kill');
  for (const start of started) {
    if (start.type !== 'ChaosStarted') continue;
    const ends = mine.filter((e) => e.type === 'ChaosEnded' && e.faultId === start.faultId);
    assert.equal(ends.length, 1, `fault ${start.faultId} (${start.kind}) ended ${ends.length} times`);
  }
}

type Op =
  | { op: 'spike' | 'leak'; victim: number; durationMs: number }
  | { op: 'burst'; victims: number[]; durationMs: number }
  | { op: 'recover'; fault: number }
  | { op: 'kill'; victim: number }
  | { op: 'wait'; ms: number };

const operation: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('spike' as const, 'leak' as const),
    victim: fc.nat(2),
    // Many equal or neighbouring deadlines: they end in the same tick.
    durationMs: fc.oneof(fc.constantFrom(40, 40, 41, 60), fc.integer({ min: 1, max: 150 })),
  }),
  // Several faults at once with one deadline: they all end in the same control tick.
  fc.record({
    op: fc.constant('burst' as const),
    victims: fc.array(fc.nat(2), { minLength: 2, maxLength: 4 }),
    durationMs: fc.integer({ min: 1, max: 80 }),
  }),
  fc.record({ op: fc.constant('recover' as const), fault: fc.nat(10) }),
  fc.record({ op: fc.constant('kill' as const), victim: fc.nat(2) }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60 }) }),
);

test('generated sequences of faults, recoveries, kills and a stop never fail or hang', async (t) => {
  useEngine(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(operation, { minLength: 1, maxLength: 25 }),
      fc.nat(80),
      async (ops, stopAfter) => {
        run++;
        const since = events.at(-1)?.seq ?? 0;
        const simulation = await start(IDLE, run);
        const faults: string[] = [];
        for (const op of ops) {
          const live = engine.processesOf(simulation.id);
          if (op.op === 'wait') {
            await sleep(op.ms);
          } else if (op.op === 'recover') {
            const id = faults[op.fault % Math.max(1, faults.length)];
            if (id === undefined) continue;
            // A fault may have ended on its own a moment ago: then it is not found, nothing else.
            try {
              engine.recoverFault(id);
            } catch (error) {
              assert.equal((error as { code?: string }).code, 'not_found');
            }
          } else if (op.op === 'burst') {
            for (const index of op.victims) {
              const victim = live[index % Math.max(1, live.length)];
              if (!victim || !engine.owns(victim.pid)) continue;
              faults.push(
                engine.injectFault({
                  kind: index % 2 === 0 ? 'cpu-spike' : 'memory-leak',
                  simulationId: simulation.id,
                  pids: new Set([victim.pid]),
                  intensityPercent: 5,
                  leakBytesPerSecond: 64 * 1024,
                  durationMs: op.durationMs,
                  origin: 'api',
                }).id,
              );
            }
          } else {
            const victim = live[op.victim % Math.max(1, live.length)];
            if (!victim) continue;
            try {
              if (op.op === 'kill') engine.killProcesses([victim.pid], 'SIGKILL', 'api', simulation.id);
              else
                faults.push(
                  engine.injectFault({
                    kind: op.op === 'spike' ? 'cpu-spike' : 'memory-leak',
                    simulationId: simulation.id,
                    pids: new Set([victim.pid]),
                    intensityPercent: op.op === 'spike' ? 5 : undefined,
                    leakBytesPerSecond: op.op === 'leak' ? 64 * 1024 : undefined,
                    durationMs: op.durationMs,
                    origin: 'api',
                  }).id,
                );
            } catch (error) {
              // the victim may have died since it was listed
              assert.equal((error as { code?: string }).code, 'invalid', String(error));
            }
          }
        }
        await sleep(stopAfter);
        const stopped = await engine.stopSimulation(simulation.id);
        assert.equal(stopped.state, 'stopped');
        assert.equal(simulation.processes.size, 0);
        assert.deepEqual(
          engine.activeFaults().filter((fault) => fault.simulationId === simulation.id),
          [],
        );
        assertEachFaultEndedOnce(since);
        engine.deleteSimulation(simulation.id);
      },
    ),
    { numRuns: 40 },
  );
  assert.deepEqual(warnings, []);
});

test('two spikes on one process ending in the same control tick (the reported crash)', async () => {
  // The real 1 s control interval of the reported case: deadlines 10 ms apart land in one tick.
  const slow = new Engine({ maxProcesses: 10 });
  try {
    const simulation = slow.createSimulation({
      name: 'same-tick',
      profile: validateProfile(IDLE),
      seed: 1,
      durationMs: undefined,
      chaos: false,
    });
    await slow.startSimulation(simulation.id);
    const victim = slow.processesOf(simulation.id)[0];
    assert.ok(victim);
    const spike = (durationMs: number) =>
      slow.injectFault({
        kind: 'cpu-spike',
        simulationId: simulation.id,
        pids: new Set([victim.pid]),
        intensityPercent: 5,
        durationMs,
        origin: 'api',
      });
    spike(2000);
    spike(1990);
    assert.ok(await waitUntil(() => slow.activeFaults().length === 0, 5000), 'both spikes ended');
    // The engine still takes requests, and a stop completes (it answered 404 and hung before).
    const third = spike(100_000);
    assert.equal(slow.recoverFault(third.id).id, third.id);
    assert.equal((await slow.stopSimulation(simulation.id)).state, 'stopped');
  } finally {
    await slow.shutdown();
  }
});

test('random chaos at a hundred draws a second for 5 s: no crash, every fault ends, the stop completes', async (t) => {
  useEngine(t);
  const since = events.at(-1)?.seq ?? 0;
  const simulation = await start(
    {
      name: 'chaos-soak',
      templates: [
        { name: 'keeper', count: 1, priority: 'critical' },
        { name: 'prey-{i}', count: 6, priority: 'low', restart: 'always' },
      ],
      // 0.1 per draw each: kills, spikes and leaks every few draws, overlapping on the same PIDs.
      chaos: {
        failures_per_minute: 600,
        spikes_per_minute: 600,
        spike_percent: 5,
        spike_duration: '40ms',
        leaks_per_minute: 600,
        leak_mib_per_minute: 6,
        leak_duration: '40ms',
      },
    },
    7,
    true,
  );
  const keeper = engine.processesOf(simulation.id).find((p) => p.name === 'keeper');
  assert.ok(keeper);
  await sleep(5000);
  const mine = () => events.filter((event) => event.seq > since);
  const kinds = new Set(mine().flatMap((e) => (e.type === 'ChaosStarted' ? [e.kind] : [])));
  assert.deepEqual([...kinds].sort(), ['cpu-spike', 'memory-leak', 'process-kill'], 'every kind was drawn');
  assert.ok(isAlive(keeper.pid), 'the critical process was spared');
  assert.equal((await engine.stopSimulation(simulation.id)).state, 'stopped');
  assertEachFaultEndedOnce(since);
  assert.equal(simulation.processes.size, 0);
  assert.deepEqual(warnings, []);
});

test('random faults the door refuses are counted and reported; the simulation keeps running', async (t) => {
  useEngine(t);
  const since = events.at(-1)?.seq ?? 0;
  const simulation = await start(
    {
      name: 'refused-chaos',
      templates: [{ name: 'leaker-{i}', count: 2, priority: 'low' }],
      // A leak of 100 TiB per minute for an hour: far beyond any machine's memory.
      chaos: {
        failures_per_minute: 0,
        spikes_per_minute: 0,
        leaks_per_minute: 6000,
        leak_mib_per_minute: 100 * 2 ** 20,
        leak_duration: '1h',
      },
    },
    3,
    true,
  );
  assert.ok(
    await waitUntil(() => simulation.chaosRefused >= 3, 5000),
    `refusals: ${simulation.chaosRefused}`,
  );
  const refusal = events.find((e) => e.seq > since && e.type === 'ChaosRefused');
  assert.ok(refusal && refusal.type === 'ChaosRefused');
  assert.equal(refusal.kind, 'memory-leak');
  assert.match(refusal.reason, /MemAvailable/);
  assert.equal(simulation.state, 'running');
  assert.equal(engine.activeFaults().length, 0);
  await engine.stopSimulation(simulation.id);
});

test('a process that ignores SIGTERM is killed after the grace period', async (t) => {
  // A real program that ignores SIGTERM (an ignored signal stays ignored across exec), started through
  // the engine's spawner seam in place of the worker.
  const stubborn = new Engine({
    maxProcesses: 10,
    stopGraceMs: 500,
    spawner: {
      spawn: (request) =>
        createNodeSpawner().spawn({
          ...request,
          executable: '/bin/sh',
          args: ['-c', 'trap "" TERM; exec sleep 60'],
        }),
    },
  });
  t.after(() => stubborn.shutdown());
  const simulation = stubborn.createSimulation({
    name: 'stubborn',
    profile: validateProfile({
      name: 'stubborn',
      templates: [{ name: 'stubborn', count: 1, priority: 'low' }],
    }),
    seed: 1,
    durationMs: undefined,
    chaos: false,
  });
  await stubborn.startSimulation(simulation.id);
  const [victim] = stubborn.processesOf(simulation.id);
  assert.ok(victim);
  assert.ok(await waitUntil(() => readFileSync(`/proc/${victim.pid}/comm`, 'utf8').trim() === 'sleep', 5000));
  const exit = new Promise<TimedEvent>((resolve) => {
    const unsubscribe = stubborn.events.subscribe((event) => {
      if (event.type === 'ProcessExited' && event.pid === victim.pid) {
        unsubscribe();
        resolve(event);
      }
    });
  });
  const stopped = stubborn.stopSimulation(simulation.id);
  const exited = await exit;
  assert.ok(exited.type === 'ProcessExited');
  assert.equal(exited.signal, 'SIGKILL', 'SIGTERM was ignored; the escalation killed it');
  assert.equal(exited.reason, 'stopped');
  assert.equal((await stopped).state, 'stopped');
});

test('a stop cancels restarts waiting for their delay', async (t) => {
  useEngine(t);
  const simulation = await start({
    name: 'pending-restart',
    templates: [{ name: 'phoenix', count: 1, priority: 'low', restart: 'always', restart_delay: '300ms' }],
  });
  const [first] = engine.processesOf(simulation.id);
  assert.ok(first);
  engine.killProcesses([first.pid], 'SIGKILL', 'api', simulation.id);
  assert.ok(await waitUntil(() => !engine.owns(first.pid), 5000));
  assert.equal(simulation.timers.size, 1, 'the restart is waiting');
  await engine.stopSimulation(simulation.id);
  assert.equal(simulation.timers.size, 0);
  const startsBefore = simulation.starts.low;
  await sleep(600); // twice the restart delay: a restart that was not cancelled would have come
  assert.equal(simulation.starts.low, startsBefore);
  assert.equal(engine.processesOf(simulation.id).length, 0);
});
