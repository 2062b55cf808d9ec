/**
 * Capture against real processes with known patterns: the engine starts a steady, a spiky, a growing
 * and a churning process, the capture records them from the real /proc (filtered by a name prefix of
 * this run, so nothing else on the machine is read into the result), and the fitted profile is held
 * to what they were told to do. Then the capture is replayed, fitted and as recorded readings, and the
 * replay's own /proc numbers are held to the recording.
 *
 * Tolerances, and why:
 * - CPU: within CPU_POINTS of the target. The worker holds its share over 100 ms ticks; a 250 ms
 *   reading sees 2 or 3 of them and is read in whole clock ticks (4 points at 250 ms), on a machine
 *   shared with other work (the engine's own test allows 5 points over 10 s).
 * - Spikes: period and duration within SPIKE_TIME_MS. The engine rewrites targets once a second, so
 *   a 4 s / 2 s pattern is held exactly on that grid; the estimate places edges to a fraction of a
 *   reading. Peak within PEAK_POINTS: the worker takes a tick or two to reach a new share.
 * - Memory: within 5 % (the engine's own RSS tolerance) plus 1 MiB for a growing target that is
 *   rewritten once a second; growth rate within 15 % (about 25 MiB seen over 12 s, read per page).
 * - Threads and fds: exact (the worker holds them exactly).
 * - Lifetimes: at least the 2 s asked, at most 2 s + one control tick (1 s, when the engine checks
 *   lifetimes) + one reading (the exit lies between two readings).
 * Load: 15 % + a spiky 15 % on average; never more than half a core.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { buildCapture } from '../../src/capture/build.ts';
import { headerFor, profileYaml } from '../../src/capture/output.ts';
import { record } from '../../src/capture/recorder.ts';
import type { Recording } from '../../src/capture/recording.ts';
import { buildReplay } from '../../src/capture/replay.ts';
import { cpuSeries, heldCounts, memorySeries, presenceOf } from '../../src/capture/series.ts';
import { moments } from '../../src/capture/stats.ts';
import { Engine } from '../../src/engine/engine.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import type { Profile } from '../../src/profiles/schema.ts';
import { fdCount, procStatus, rssBytes } from '../helpers/proc.ts';
import { waitFor } from '../helpers/wait.ts';

const CPU_POINTS = 4;
const SPIKE_TIME_MS = 500;
const PEAK_POINTS = 6;
const INTERVAL_MS = 250;
const RECORD_MS = 13_000;

/** A prefix of this run: the capture's name filter reads only these processes. */
const tag = `c${randomBytes(2).toString('hex')}`;
const names = {
  steady: `${tag}-steady`,
  spiky: `${tag}-spiky`,
  grow: `${tag}-grow`,
  churn: `${tag}-churn`,
};

let engine: Engine;
let recording: Recording;
before(() => {
  engine = new Engine({ maxProcesses: 50 });
});
after(async () => {
  await engine.shutdown();
});

async function runProfile(profile: Profile) {
  const simulation = engine.createSimulation({
    name: profile.name,
    profile,
    seed: 1,
    durationMs: undefined,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
  return simulation;
}

/** Records this run's processes only. */
const recordOurs = () =>
  record({ durationMs: RECORD_MS, intervalMs: INTERVAL_MS, filter: { names: [`${tag}-*`] } });

/** Through YAML and the schema, as `run -f` would read the file. */
const asWritten = (profile: Profile) =>
  validateProfile(parseYaml(profileYaml(profile, headerFor(profile, 'test'))));

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (±${tolerance})`);

test('a capture of known processes fits what they were told to do, within the stated tolerances', async () => {
  const simulation = await runProfile(
    validateProfile({
      name: 'known',
      templates: [
        { name: names.steady, count: 1, priority: 'high', cpu: 15, memory: 32, threads: 4, fds: 12 },
        {
          name: names.spiky,
          count: 1,
          priority: 'medium',
          cpu: { pattern: 'spiky', base: 0, peak: 30, every: '4s', for: '2s' },
          memory: 8,
        },
        {
          name: names.grow,
          count: 1,
          priority: 'low',
          memory: { pattern: 'growing', start: 16, max: 400, per_minute: 120 },
        },
        { name: names.churn, count: 2, priority: 'low', lifetime: '2s', memory: 4 },
      ],
    }),
  );
  try {
    const steady = engine.processesOf(simulation.id).find((p) => p.name === names.steady);
    assert.ok(steady);
    await waitFor(
      'the steady process to hold 32 MiB',
      { timeoutMs: 5000 },
      () => rssBytes(steady.pid) >= 0.95 * 32 * 2 ** 20,
    );
    recording = await recordOurs();
  } finally {
    await engine.stopSimulation(simulation.id);
  }
  assert.equal(recording.readings.length, RECORD_MS / INTERVAL_MS + 1);
  assert.ok(
    recording.processes.every((p) => p.name.startsWith(`${tag}-`)),
    'only this run was recorded',
  );

  const { profile, source } = buildCapture(recording);
  const written = asWritten(profile);
  const stable = (name: string) => written.templates.find((t) => t.name === name && !t.lifetime);

  const steadyT = stable(names.steady);
  assert.ok(steadyT?.cpu.pattern === 'steady', JSON.stringify(steadyT?.cpu));
  near(steadyT.cpu.value, 15, CPU_POINTS, 'steady CPU %');
  assert.ok(steadyT.memory.pattern === 'steady');
  near(steadyT.memory.value, 32, 0.05 * 32, 'steady RSS MiB');
  assert.deepEqual([steadyT.count, steadyT.threads, steadyT.fds], [1, 4, 12]);

  const spikyT = stable(names.spiky);
  const spikyRecorded = recording.processes.find((p) => p.name === names.spiky);
  assert.ok(
    spikyT?.cpu.pattern === 'spiky',
    `${JSON.stringify(spikyT?.cpu)} from readings ${spikyRecorded ? cpuSeries(spikyRecorded).v.map(Math.round).join(' ') : 'none'} (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
  );
  near(spikyT.cpu.every, 4000, SPIKE_TIME_MS, 'spike period ms');
  near(spikyT.cpu.for, 2000, SPIKE_TIME_MS, 'spike duration ms');
  near(spikyT.cpu.base, 0, CPU_POINTS, 'spike base %');
  near(spikyT.cpu.peak, 30, PEAK_POINTS, 'spike peak %');
  assert.ok(spikyT.memory.pattern === 'steady');
  near(spikyT.memory.value, 8, 0.05 * 8 + 0.5, 'spiky process RSS MiB');

  const growT = stable(names.grow);
  assert.ok(growT?.memory.pattern === 'growing', JSON.stringify(growT?.memory));
  near(growT.memory.per_minute, 120, 0.15 * 120, 'growth MiB per minute');
  const grown = recording.processes.find((p) => p.name === names.grow);
  assert.ok(grown);
  near(
    growT.memory.start,
    memorySeries(grown).v[0] as number,
    0.05 * growT.memory.start + 1,
    'growth start MiB',
  );
  assert.ok(growT.cpu.pattern === 'steady' && growT.cpu.value <= CPU_POINTS);

  const churnT = written.templates.find((t) => t.name === names.churn && t.lifetime);
  assert.ok(churnT?.lifetime, JSON.stringify(written.templates.map((t) => t.name)));
  assert.equal(churnT.count, 2, 'two alive at once');
  assert.ok(churnT.lifetime.min >= 2000 - INTERVAL_MS, `shortest lifetime ${churnT.lifetime.min} ms`);
  assert.ok(churnT.lifetime.max <= 2000 + 1000 + INTERVAL_MS, `longest lifetime ${churnT.lifetime.max} ms`);
  assert.ok(churnT.restart_delay <= 1000, `restart delay ${churnT.restart_delay} ms`);
  // Every 2-3 s two processes end: 8 to 13 exits in 13 s.
  const exits = recording.processes.filter(
    (p) => p.name === names.churn && presenceOf(p, recording).exitedDuring,
  ).length;
  assert.ok(exits >= 8 && exits <= 14, `${exits} exits of ${names.churn}`);
  assert.deepEqual(
    written.templates.map((t) => t.priority),
    written.templates.map(() => 'low'),
    'all of them younger than ten minutes and none ruled: low',
  );
  for (const estimate of source.estimates) assert.ok(estimate.cpu.samples > 0 && estimate.memory.samples > 0);
  assert.ok((source.estimates.find((e) => e.template === names.spiky)?.cpu.r2 ?? 0) >= 0.8);
  assert.ok((source.estimates.find((e) => e.template === names.grow)?.memory.r2 ?? 0) >= 0.9);
});

/** Per name: mean CPU %, mean RSS MiB, held threads and fds of the processes that ran throughout. */
function summarise(of: Recording) {
  const byName = new Map<
    string,
    { cpu: number[]; rss: number[]; threads: number[]; fds: number[]; exits: number }
  >();
  for (const process of of.processes) {
    const entry = byName.get(process.name) ?? { cpu: [], rss: [], threads: [], fds: [], exits: 0 };
    const presence = presenceOf(process, of);
    if (presence.exitedDuring) entry.exits++;
    if (presence.atStart && presence.atEnd) {
      entry.cpu.push(...cpuSeries(process).v);
      entry.rss.push(...memorySeries(process).v);
      const held = heldCounts(process);
      entry.threads.push(held.threads);
      entry.fds.push(held.fds);
    }
    byName.set(process.name, entry);
  }
  return byName;
}

for (const mode of ['recorded readings', 'fitted patterns'] as const) {
  test(`replaying the capture (${mode}) reproduces the recorded /proc numbers`, async (t) => {
    if (!recording) return t.skip('the capture test did not record');
    const capture = buildCapture(recording);
    const profile = asWritten(
      mode === 'recorded readings' ? buildReplay(capture, recording) : capture.profile,
    );
    const simulation = await runProfile({ ...profile, name: 'replay' });
    let replayed: Recording;
    try {
      const steady = engine.processesOf(simulation.id).find((p) => p.name === names.steady);
      assert.ok(steady);
      await waitFor(
        'the replayed steady process to hold its memory',
        { timeoutMs: 5000 },
        () => rssBytes(steady.pid) >= 0.95 * 32 * 2 ** 20,
      );
      // Independent reads of the replay's own processes: what the worker holds is what was recorded.
      const holding = () =>
        engine
          .processesOf(simulation.id)
          .filter((info) => info.name !== names.churn)
          .map((info) => {
            const template = profile.templates.find((tpl) => tpl.name === info.name);
            return `${info.name} threads ${procStatus(info.pid)?.Threads}/${template?.threads} fds ${fdCount(info.pid)}/${template?.fds}`;
          });
      await waitFor(
        'the replayed processes to hold their threads and fds',
        { timeoutMs: 5000, lastSeen: () => holding().join('; ') },
        () => holding().every((line) => /threads (\d+)\/\1 fds (\d+)\/\2$/.test(line)),
      );
      replayed = await recordOurs();
    } finally {
      await engine.stopSimulation(simulation.id);
    }
    const before = summarise(recording);
    const after = summarise(replayed);
    for (const name of [names.steady, names.spiky, names.grow]) {
      const was = before.get(name);
      const now = after.get(name);
      assert.ok(was && now, `${name} recorded and replayed`);
      // Recorded readings: the replay holds their mean over each second, so its mean is the
      // recording's, less what the worker misses of its share (values taken once a second, at the
      // same phase, were 2.5 to 4 points off). Fitted spikes: a 13 s window holds 3.25 periods, so its
      // mean moves with the phase by up to a quarter period of the 30-point gap over the window
      // (2.3 points) on top of the CPU tolerance. The fitted spike lasts ~1.8 s, which the engine holds
      // at its peak for 1 or 2 whole seconds in turn (heldValue); five runs were 0.1 to 0.8 points off.
      // Held at the value of each second it was 1 s at some phases, and half the recorded mean.
      const cpuTolerance =
        mode === 'recorded readings' ? CPU_POINTS / 2 : CPU_POINTS + (name === names.spiky ? 2.5 : 0);
      near(moments(now.cpu).mean, moments(was.cpu).mean, cpuTolerance, `${name} mean CPU %`);
      const wasRss = moments(was.rss).mean;
      // The growing one: the replay may start a reading or two later in its series than the original.
      near(
        moments(now.rss).mean,
        wasRss,
        0.05 * wasRss + (name === names.grow ? 2 : 1),
        `${name} mean RSS MiB`,
      );
      assert.deepEqual([now.threads, now.fds], [was.threads, was.fds], `${name} threads and fds`);
    }
    const churnBefore = before.get(names.churn)?.exits ?? 0;
    const churnAfter = after.get(names.churn)?.exits ?? 0;
    assert.ok(
      churnAfter >= churnBefore / 2 && churnAfter <= churnBefore * 2,
      `exits of ${names.churn}: ${churnAfter} replayed, ${churnBefore} recorded`,
    );
  });
}
