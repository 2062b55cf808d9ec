/**
 * The Node fallback worker (used where no C compiler built the native one) under the real engine:
 * named, holding its fd and memory targets, following them as they change, and never killed by a
 * retarget however early or often it comes (it is never signalled; it reads its slot every tick; a
 * SIGUSR1 before its handler is installed would open Node's inspector in it).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/engine/engine.ts';
import type { TimedEvent } from '../../src/engine/events.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import { FALLBACK_WORKER_PATH } from '../../src/workload/worker-path.ts';
import { rssBytes } from '../helpers/proc.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

let engine: Engine;
let simulation: Simulation;
const events: TimedEvent[] = [];
before(async () => {
  // Retargets every 20 ms, from the first moment of each process's life.
  engine = new Engine({
    maxProcesses: 10,
    controlIntervalMs: 20,
    worker: { kind: 'node', path: FALLBACK_WORKER_PATH },
  });
  engine.events.subscribe((event) => events.push(event));
  simulation = engine.createSimulation({
    name: 'fallback',
    profile: validateProfile({
      name: 'fallback',
      templates: [
        {
          name: 'node-grow-{i}',
          count: 2,
          priority: 'low',
          fds: 40,
          memory: { pattern: 'growing', start: 60, max: 120, per_minute: 600 },
        },
      ],
    }),
    seed: 1,
    durationMs: undefined,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
});
after(async () => {
  await engine.shutdown();
});

test('named, holding its fds, following a growing memory target, never killed by a retarget', async () => {
  const [first] = engine.processesOf(simulation.id);
  assert.ok(first);
  assert.equal(engine.workerKind, 'node');
  // It names itself once Node has loaded it (the native worker is named from exec on).
  await waitFor(
    'its name',
    { timeoutMs: 15_000 },
    () => readFileSync(`/proc/${first.pid}/comm`, 'utf8').trim() === first.name,
  );
  await waitFor(
    '40 fds held',
    { timeoutMs: 15_000 },
    () => readdirSync(`/proc/${first.pid}/fd`).length === 40,
  );
  // The target grows 10 MiB a second from 60 MiB: RSS follows it above Node's own ~40 MiB floor.
  const early = rssBytes(first.pid);
  await waitFor('RSS following the target', { timeoutMs: 15_000 }, () => {
    const target = (engine.processesOf(simulation.id)[0]?.targets.rssKiB ?? 0) * 1024;
    const rss = rssBytes(first.pid);
    return rss > early + 10 * 2 ** 20 && Math.abs(rss - target) < 8 * 2 ** 20;
  });
  await sleep(1000);
  // SIGUSR1 would not kill a Node process: before its own handler is installed, Node opens its
  // inspector on it (a listening socket). It is never sent, so no worker holds a socket.
  for (const { pid } of engine.processesOf(simulation.id)) {
    const sockets = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
    assert.deepEqual(sockets, [], `worker ${pid} holds sockets (its inspector opened?)`);
  }
  const crashed = events.filter((e) => e.type === 'ProcessExited');
  assert.deepEqual(crashed, [], 'no process died while retargeted every 20 ms');
  assert.equal(engine.processesOf(simulation.id).length, 2);
});
