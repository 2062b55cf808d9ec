/**
 * The engine against the real kernel: real children, read back from /proc with code independent of
 * the simulator's own reader.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/engine/engine.ts';
import type { TimedEvent } from '../../src/engine/events.ts';
import { builtinProfile, validateProfile } from '../../src/profiles/load.ts';
import { scaleProfile } from '../../src/profiles/plan.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';
import { assertCpuShare, burnsWithin, describeCpu, favour, measureCpu } from '../helpers/cpu-share.ts';
import { fdCount, isAlive, processGroup, procStatus, psComm, rssBytes, schedstat } from '../helpers/proc.ts';
import { readUntil, waitUntil } from '../helpers/wait.ts';

let engine: Engine;
const events: TimedEvent[] = [];
before(() => {
  engine = new Engine({ maxProcesses: 200 });
  engine.events.subscribe((event) => events.push(event));
});
after(async () => {
  await engine.shutdown();
});

async function run(profile: ProfileInput, seed = 1) {
  const simulation = engine.createSimulation({
    name: profile.name,
    profile: validateProfile(profile),
    seed,
    durationMs: undefined,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
  return simulation;
}

test('simulated processes are real: their names in /proc and ps, own process group, no shell between them and the engine’s launcher', async () => {
  const simulation = await run({ ...scaleProfile(builtinProfile('realistic'), 14), name: 'names' });
  // Taken while they run: a stop empties the simulation's process map, so a list read afterwards is
  // always empty and proves nothing about what is left alive.
  const live = engine.processesOf(simulation.id);
  try {
    assert.equal(live.length, 14);
    for (const info of live) {
      const status = procStatus(info.pid);
      assert.ok(status, `${info.name} (${info.pid}) is alive`);
      assert.equal(status.Name, info.name, `status Name of ${info.pid}`);
      assert.equal(psComm(info.pid), info.name, `ps -o comm of ${info.pid}`);
      // The parent is the engine's launcher, whose parent is the engine: no shell in between.
      const launcher = Number(status.PPid);
      assert.equal(procStatus(launcher)?.Name, 'ps-launcher', `the parent of ${info.pid} is the launcher`);
      assert.equal(Number(procStatus(launcher)?.PPid), process.pid, 'the engine is the launcher’s parent');
      assert.equal(processGroup(info.pid), info.pid, 'a process group of its own');
      const cmdline = readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      assert.equal(cmdline[0], info.name);
    }
    const postgres = live.find((p) => p.name === 'postgres');
    assert.ok(postgres);
    assert.deepEqual(readFileSync(`/proc/${postgres.pid}/cmdline`, 'utf8').split('\0').filter(Boolean), [
      'postgres',
      '-D',
      '/var/lib/postgresql/16/main',
    ]);
  } finally {
    await engine.stopSimulation(simulation.id);
  }
  assert.equal(live.length, 14);
  for (const info of live) assert.equal(isAlive(info.pid), false, `${info.name} (${info.pid}) left alive`);
  assert.deepEqual(engine.processesOf(simulation.id), []);
});

test('threads and open fds are exactly those of the template', async () => {
  const simulation = await run({
    name: 'counts',
    templates: [
      { name: 'one-thread', count: 1, priority: 'low', threads: 1, fds: 3 },
      { name: 'java-ish', count: 2, priority: 'high', threads: 37, fds: 120 },
      { name: 'node-ish', count: 1, priority: 'medium', threads: 11, fds: 24 },
    ],
  });
  try {
    const live = engine.processesOf(simulation.id);
    assert.equal(live.length, 4);
    for (const info of live) {
      const expected = info.targets;
      const settled = await waitUntil(
        () =>
          Number(procStatus(info.pid)?.Threads) === expected.threads && fdCount(info.pid) === expected.fds,
        3000,
      );
      assert.ok(
        settled,
        `${info.name}: threads ${procStatus(info.pid)?.Threads}/${expected.threads}, fds ${fdCount(info.pid)}/${expected.fds}`,
      );
    }
  } finally {
    await engine.stopSimulation(simulation.id);
  }
});

test('RSS holds a steady target and follows a growing one while the process runs (within 5 %)', async () => {
  const simulation = await run({
    name: 'memory',
    templates: [
      { name: 'steady-mem', count: 1, priority: 'medium', memory: 48 },
      {
        name: 'leaky-mem',
        count: 1,
        priority: 'low',
        memory: { pattern: 'growing', start: 16, max: 200, per_minute: 60 },
      },
    ],
  });
  try {
    const [steady, leaky] = ['steady-mem', 'leaky-mem'].map((name) =>
      engine.processesOf(simulation.id).find((p) => p.name === name),
    );
    assert.ok(steady && leaky);
    const target = 48 * 2 ** 20;
    assert.ok(
      await waitUntil(() => Math.abs(rssBytes(steady.pid) - target) <= 0.05 * target, 3000),
      `steady RSS ${rssBytes(steady.pid)} vs ${target}`,
    );
    // Four readings, each once the engine has moved the target 2 MiB past the previous one: the RSS
    // must come within 5 % (plus the 1 MiB the target moves between two control ticks) of the target
    // read at the same moment.
    const readings: Array<{ rss: number; target: number }> = [];
    const leakTarget = () => {
      const current = engine.processesOf(simulation.id).find((p) => p.pid === leaky.pid);
      assert.ok(current, `leaky-mem (${leaky.pid}) still runs`);
      return current.targets.rssKiB * 1024;
    };
    const near = ({ rss, target }: { rss: number; target: number }) =>
      Math.abs(rss - target) <= 0.05 * target + 2 ** 20;
    let previous = leakTarget();
    for (let i = 0; i < 4; i++) {
      const moved = await waitUntil(() => leakTarget() >= previous + 2 * 2 ** 20, 10_000, 100);
      assert.ok(moved, `the engine moved the growing target from ${previous} (now ${leakTarget()})`);
      previous = leakTarget();
      const reading = await readUntil(
        () => ({ rss: rssBytes(leaky.pid), target: leakTarget() }),
        near,
        3000,
        50,
      );
      assert.ok(near(reading), `growing RSS ${reading.rss} vs target ${reading.target}`);
      readings.push(reading);
    }
    const first = readings[0] as { rss: number; target: number };
    const last = readings.at(-1) as { rss: number; target: number };
    // Each reading is within near()'s bound of its target, so the RSS grew at least the targets' growth
    // less that bound at both ends (a flat 5 MiB failed on a growth of exactly 5 MiB).
    const bound = (target: number) => 0.05 * target + 2 ** 20;
    const grownAtLeast = last.target - first.target - bound(first.target) - bound(last.target);
    assert.ok(last.target - first.target >= 6 * 2 ** 20, `targets ${first.target} -> ${last.target}`);
    assert.ok(
      last.rss - first.rss >= grownAtLeast && last.rss > first.rss,
      `the running process grew: ${first.rss} -> ${last.rss}, targets ${first.target} -> ${last.target}`,
    );
  } finally {
    await engine.stopSimulation(simulation.id);
  }
});

test('CPU follows a spiky pattern: over one whole period the mean is within 5 points of the pattern mean', async (t) => {
  // base 4 % for 5 s, peak 40 % for 5 s: over any 10 s window the mean is 22 %, whatever the phase. On a
  // busy machine the worker gets less than it asks for: judged against what it could get (cpu-share.ts).
  const simulation = await run({
    name: 'cpu',
    templates: [
      {
        name: 'spiky-cpu',
        count: 1,
        priority: 'high',
        cpu: { pattern: 'spiky', base: 4, peak: 40, every: '10s', for: '5s' },
      },
      { name: 'idle-proc', count: 1, priority: 'low' },
    ],
  });
  try {
    const [spiky, idle] = ['spiky-cpu', 'idle-proc'].map((name) =>
      engine.processesOf(simulation.id).find((p) => p.name === name),
    );
    assert.ok(spiky && idle);
    favour(spiky.pid);
    assert.ok(await burnsWithin(spiky.pid, 20, 5000), 'spiky-cpu starts burning');
    const idle0 = schedstat(idle.pid).runS;
    const window = await measureCpu(spiky.pid, 10_000);
    const idleMs = (schedstat(idle.pid).runS - idle0) * 1000;
    t.diagnostic(`spiky-cpu ${describeCpu(window)} (pattern mean 22 %)`);
    assertCpuShare(window, 0.22, 0.05, 'spiky-cpu over one whole period');
    assert.ok(idleMs <= 10, `an idle process used ${idleMs.toFixed(1)} ms of CPU in 10 s`);
  } finally {
    await engine.stopSimulation(simulation.id);
  }
});

test('a lifetime ends a process and the replacement takes the next generation name', async () => {
  const simulation = await run({
    name: 'churn',
    templates: [{ name: 'job-a{i}-{g}', count: 2, priority: 'low', lifetime: '1s' }],
  });
  try {
    const ok = await waitUntil(() => simulation.exits.lifetime.low >= 4, 8000, 100);
    assert.ok(ok, `lifetime exits: ${simulation.exits.lifetime.low}`);
    // Each slot's lifetimes run on their own clocks: four exits may be three of one slot and one of
    // the other, and a replacement's start event follows its exit. Wait for the names, not a count.
    const started = () =>
      events
        .filter((e) => e.type === 'ProcessStarted' && e.simulationId === simulation.id)
        .map((e) => (e as { name: string }).name);
    const wanted = ['job-a1-0', 'job-a2-0', 'job-a1-1', 'job-a2-1', 'job-a1-2', 'job-a2-2'];
    await waitUntil(() => wanted.every((name) => started().includes(name)), 8000, 100);
    const names = started();
    assert.deepEqual(
      wanted.filter((name) => !names.includes(name)),
      [],
      `generations started: ${names.join(' ')}`,
    );
    // Both slots filled again (a replacement follows each exit at once), so the loop below checks two.
    const replaced = await readUntil(
      () => engine.processesOf(simulation.id),
      (live) => live.length === 2,
      3000,
      50,
    );
    assert.equal(replaced.length, 2, 'both churning processes replaced');
    for (const info of replaced) assert.equal(procStatus(info.pid)?.Name, info.name);
    // all of it within the last minute: the per-minute rates count every start and every exit so far
    const exits = simulation.exits.lifetime.low;
    assert.equal(simulation.churnPerMinute(), exits);
    assert.equal(simulation.startsPerMinute(), simulation.starts.low);
    assert.ok(simulation.starts.low >= exits + 2, `starts ${simulation.starts.low}, exits ${exits}`);
    // one executable link per live name: links of exited generations are gone
    const live = engine.processesOf(simulation.id).map((p) => p.name);
    const links = live.map((name) =>
      readlinkSync(`/proc/${engine.processesOf(simulation.id).find((p) => p.name === name)?.pid}/exe`),
    );
    const binDir = dirname(links[0] as string);
    const churnLinks = readdirSync(binDir).filter((file) => file.startsWith('job-a'));
    assert.ok(
      churnLinks.length <= 4,
      `links in ${binDir}: ${churnLinks.join(' ')} (live: ${live.join(' ')})`,
    );
  } finally {
    await engine.stopSimulation(simulation.id);
  }
});

test('a worker that dies unexpectedly is recorded as crashed with its signal and replaced', async () => {
  const simulation = await run({
    name: 'crash',
    templates: [{ name: 'fragile', count: 1, priority: 'medium', restart: 'on-failure' }],
  });
  try {
    const [victim] = engine.processesOf(simulation.id);
    assert.ok(victim);
    process.kill(victim.pid, 'SIGKILL');
    assert.ok(
      await waitUntil(() => engine.processesOf(simulation.id).some((p) => p.pid !== victim.pid), 3000),
      'replaced',
    );
    const exit = events.find((e) => e.type === 'ProcessExited' && e.pid === victim.pid);
    assert.deepEqual(
      exit && { reason: (exit as { reason: string }).reason, signal: (exit as { signal: string }).signal },
      { reason: 'crashed', signal: 'SIGKILL' },
    );
    assert.equal(simulation.crashes[0]?.signal, 'SIGKILL');
  } finally {
    await engine.stopSimulation(simulation.id);
  }
});

test('a simulation with a duration completes on its own and leaves nothing behind', async () => {
  const profile = validateProfile({
    name: 'short',
    templates: [{ name: 'brief', count: 3, priority: 'low' }],
  });
  const simulation = engine.createSimulation({
    name: 'short',
    profile,
    seed: 3,
    durationMs: 1500,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
  const pids = engine.processesOf(simulation.id).map((p) => p.pid);
  assert.equal(pids.length, 3);
  assert.ok(await waitUntil(() => simulation.state === 'completed', 6000), `state ${simulation.state}`);
  for (const pid of pids) assert.equal(isAlive(pid), false, `${pid} gone`);
  assert.equal(simulation.exits.stopped.low, 3);
});
