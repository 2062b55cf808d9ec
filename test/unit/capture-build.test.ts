/**
 * From a recording to a profile, on made-up recordings: what becomes a template, what is left out and
 * said so, churn, priorities, anonymising, scaling, the top N, the replay profile, and that whatever a
 * recording holds, what is written is a profile `run` accepts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { anonymiseRecording, hashAnonymiser, mapAnonymiser } from '../../src/capture/anonymise.ts';
import { buildCapture, CaptureError } from '../../src/capture/build.ts';
import { headerFor, profileYaml } from '../../src/capture/output.ts';
import { defaultPriority, parsePriorityRules } from '../../src/capture/priority.ts';
import { buildReplay } from '../../src/capture/replay.ts';
import { cpuSeries, memorySeries } from '../../src/capture/series.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import type { Template } from '../../src/profiles/schema.ts';
import { type FakeProcess, fakeRecording } from '../helpers/recording.ts';

const written = (profile: Parameters<typeof profileYaml>[0]) =>
  validateProfile(parseYaml(profileYaml(profile, headerFor(profile, 'test'))));

const countOf = (templates: readonly Template[], name: string, churn: boolean) =>
  templates
    .filter((t) => t.name === name && (t.lifetime !== undefined) === churn)
    .reduce((sum, t) => sum + t.count, 0);

test('one template per name with its count, threads, fds and command line; written as a valid profile', () => {
  const recording = fakeRecording({
    readings: 30,
    processes: [
      ...[1, 2, 3].map(
        (i): FakeProcess => ({
          name: 'nginx',
          pid: 100 + i,
          threads: 2 + (i % 2),
          fds: 20,
          args: ['-g', 'daemon off;'],
        }),
      ),
      { name: 'postgres', pid: 200, threads: 9, fds: 64, rssMiB: () => 300, cpu: () => 12 },
    ],
  });
  const { profile } = buildCapture(recording);
  const parsed = written(profile);
  assert.deepEqual(
    parsed.templates.map((t) => [t.name, t.count, t.threads, t.fds, t.args]),
    [
      ['nginx', 3, 3, 20, ['-g', 'daemon off;']],
      ['postgres', 1, 9, 64, []],
    ],
    'threads: the mean of 3, 2, 3, rounded',
  );
  const postgres = parsed.templates[1];
  assert.deepEqual(postgres?.cpu, { pattern: 'steady', value: 12 });
  assert.deepEqual(postgres?.memory, { pattern: 'steady', value: 300 });
  assert.equal(postgres?.priority, 'critical', 'up an hour, 300 MiB');
  assert.equal(parsed.source?.samples, 30);
  assert.equal(parsed.source?.host, 'test-host');
  assert.deepEqual(
    parsed.source?.estimates.map((e) => [e.template, e.processes, e.cpu.pattern, e.memory.pattern]),
    [
      ['nginx', 3, 'steady', 'steady'],
      ['postgres', 1, 'steady', 'steady'],
    ],
  );
});

test('processes of one name that behave differently get a template each, with their own command line', () => {
  const recording = fakeRecording({
    readings: 100,
    processes: [
      {
        name: 'postgres',
        pid: 1,
        cpu: (i) => (i % 20 < 6 ? 25 : 1),
        rssMiB: () => 96,
        args: ['-D', '/data'],
      },
      ...[2, 3, 4, 5].map(
        (pid): FakeProcess => ({
          name: 'postgres',
          pid,
          cpu: () => 2,
          rssMiB: () => 24,
          args: ['postgres:', 'client'],
        }),
      ),
    ],
  });
  const { profile, source } = buildCapture(recording);
  const parsed = written(profile);
  assert.deepEqual(
    parsed.templates.map((t) => [t.name, t.count, t.cpu.pattern, t.args]),
    [
      ['postgres', 1, 'spiky', ['-D', '/data']],
      ['postgres', 4, 'steady', ['postgres:', 'client']],
    ],
  );
  assert.ok(
    source.estimates[0]?.notes.some((n) =>
      /2 templates for this name, one per behaviour: 1 with CPU\/memory spiky\/steady, 4 with CPU\/memory steady\/steady/.test(
        n,
      ),
    ),
  );
});

test('what a simulated process cannot hold is left out and reported by name and reason, never bent', () => {
  const recording = fakeRecording({
    readings: 10,
    processes: [
      { name: 'java', pid: 1, threads: 5000 },
      { name: 'haproxy', pid: 2, fds: 70_000 },
      { name: 'closed', pid: 3, fds: 2 },
      { name: 'ffmpeg', pid: 4, cpu: () => 180 },
      { name: 'Web Content', pid: 5 },
      { name: 'x{i}y', pid: 6 },
      { name: 'busy', pid: 7, cpu: (i) => (i % 2 ? 100 : 96), threads: 2 },
      { name: 'ok', pid: 8 },
    ],
    skipped: [
      {
        name: 'kernel threads',
        processes: 40,
        reason: 'kernel threads are not processes a program can start',
      },
    ],
  });
  const { profile, source } = buildCapture(recording);
  assert.deepEqual(
    profile.templates.map((t) => t.name),
    ['busy', 'ok'],
  );
  const reasons = Object.fromEntries(source.skipped.map((s) => [s.name, `${s.processes}: ${s.reason}`]));
  assert.match(reasons['kernel threads'] ?? '', /^40: kernel threads/);
  assert.match(reasons.java ?? '', /^1: 5000 threads; a simulated process holds at most 4096/);
  assert.match(reasons.haproxy ?? '', /^1: 70000 open fds; .* at most 65536/);
  assert.match(reasons.closed ?? '', /^1: 2 open fds; .* at least 3/);
  assert.match(reasons.ffmpeg ?? '', /^1: 180\.0 % CPU on average, more than one core/);
  assert.match(reasons['Web Content'] ?? '', /characters a profile refuses.*--anonymise/);
  assert.match(reasons['x{i}y'] ?? '', /placeholder/);
  written(profile);
  // Renamed, the names are no longer a reason; the rest still is.
  const anonymised = buildCapture(recording, { anonymiser: hashAnonymiser('k') });
  assert.equal(anonymised.profile.templates.length, 4);
  assert.equal(anonymised.source.skipped.length, 5);
});

test('CPU peaks above one core are cut to 100 % and the estimate says so', () => {
  const recording = fakeRecording({
    readings: 40,
    processes: [{ name: 'burst', pid: 1, cpu: (i) => (i % 10 < 5 ? 2 : 104) }],
  });
  const { profile, source } = buildCapture(recording);
  const cpu = profile.templates[0]?.cpu;
  assert.ok(cpu?.pattern === 'spiky', JSON.stringify(cpu));
  assert.equal(cpu.peak, 100);
  assert.ok(source.estimates[0]?.notes.some((note) => /peaks of 104 % cut to 100 %/.test(note)));
  written(profile);
});

test('processes that came and went: a churn template with their lifetimes, the most alive at once, and the rate', () => {
  // Two slots, each process living 4 readings (4 s) then replaced one reading later: 5 s per cycle.
  const processes: FakeProcess[] = [];
  let pid = 1000;
  for (let start = 0; start < 60; start += 5) {
    for (const slot of [0, 2]) {
      const from = start + slot;
      if (from > 59) continue;
      processes.push({ name: 'job', pid: pid++, from, to: from + 3, startMs: from * 1000 - 500 });
    }
  }
  processes.push({ name: 'job', pid: 1, rssMiB: () => 50 }, { name: 'cron', pid: 2 });
  const recording = fakeRecording({ readings: 60, processes });
  const { profile, source } = buildCapture(recording, {
    rules: parsePriorityRules('job: critical\ncron: high\n'),
  });
  const churn = profile.templates.find((t) => t.name === 'job' && t.lifetime);
  assert.ok(churn?.lifetime);
  assert.equal(countOf(profile.templates, 'job', false), 1, 'the one that ran throughout');
  assert.equal(churn.count, 2, 'at most two alive at once');
  // Lifetime: from the start (half a reading before the first) to half a reading after the last.
  assert.equal(churn.lifetime.min, 4000);
  assert.equal(churn.lifetime.max, 4000);
  const exits = processes.filter((p) => p.name === 'job' && p.to !== undefined && p.to < 59).length;
  const cycleMs = (2 * 59_000) / exits;
  assert.ok(
    Math.abs(churn.restart_delay - (cycleMs - 4000)) <= 1,
    `delay ${churn.restart_delay} vs ${cycleMs - 4000}`,
  );
  assert.equal(churn.priority, 'high', 'critical asked, but churn cannot be critical');
  assert.equal(profile.templates.find((t) => t.name === 'job' && !t.lifetime)?.priority, 'critical');
  assert.equal(profile.templates.find((t) => t.name === 'cron')?.priority, 'high');
  const estimate = source.estimates.find((e) => e.template === 'job' && e.lifetime);
  assert.match(estimate?.lifetime ?? '', /exits \([\d.]+\/min\), lifetimes 4s-4s/);
  assert.ok(estimate?.notes.some((n) => /cannot be: high instead/.test(n)));
  written(profile);
});

test('newcomers that stay are counted with the rest, not as churn', () => {
  const recording = fakeRecording({
    readings: 20,
    processes: [
      { name: 'worker', pid: 1 },
      { name: 'worker', pid: 2, from: 8 },
    ],
  });
  const { profile, source } = buildCapture(recording);
  assert.deepEqual(
    profile.templates.map((t) => [t.name, t.count, t.lifetime]),
    [['worker', 2, undefined]],
  );
  assert.ok(source.estimates[0]?.notes.some((n) => /1 started during the recording and still ran/.test(n)));
});

test('the default priority follows uptime and resident memory; rules override it in file order', () => {
  const hour = 3_600_000;
  assert.equal(defaultPriority({ churns: false, uptimeMs: hour, rssMiB: 256 }), 'critical');
  assert.equal(defaultPriority({ churns: false, uptimeMs: hour, rssMiB: 255 }), 'high');
  assert.equal(defaultPriority({ churns: false, uptimeMs: hour, rssMiB: 31 }), 'medium');
  assert.equal(defaultPriority({ churns: false, uptimeMs: 600_000, rssMiB: 1 }), 'medium');
  assert.equal(defaultPriority({ churns: false, uptimeMs: 599_999, rssMiB: 4000 }), 'low');
  assert.equal(defaultPriority({ churns: true, uptimeMs: 100 * hour, rssMiB: 4000 }), 'low');
  const rules = parsePriorityRules('"42": low\npostgres*: critical\n"*": medium\npostgres: low\n');
  assert.deepEqual(
    rules.map((r) => r.pattern),
    ['42', 'postgres*', '*', 'postgres'],
  );
  const recording = fakeRecording({
    readings: 5,
    processes: [
      { name: 'postgres', pid: 1 },
      { name: '42', pid: 2 },
      { name: 'sshd', pid: 3 },
    ],
  });
  assert.deepEqual(
    buildCapture(recording, { rules }).profile.templates.map((t) => [t.name, t.priority]),
    [
      ['postgres', 'critical'],
      ['42', 'low'],
      ['sshd', 'medium'],
    ],
  );
  assert.throws(
    () => parsePriorityRules('nginx: urgent\n'),
    /nginx: a priority: critical, high, medium, low \(got "urgent"\)/,
  );
  assert.throws(() => parsePriorityRules('- nginx\n'), /a mapping of name patterns to priorities/);
});

/** What the keyed hash writes for a name, an argument or any other text. */
const HASHED = /[pah]-[0-9a-f]{10}/g;

test('anonymised: no recorded name, argument or host is left in the profile, the replay or the samples', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc
          .stringMatching(/^[a-z][a-z0-9_-]{3,14}$/)
          .filter((name) => !new RegExp(`^${HASHED.source}$`).test(name)),
        { minLength: 1, maxLength: 6 },
      ),
      fc.array(fc.stringMatching(/^--[a-z]{4,12}=[a-z0-9/]{4,20}$/), { maxLength: 4 }),
      fc.string({ minLength: 1, maxLength: 8 }),
      (names, args, salt) => {
        const host = 'db-primary-eu1';
        const recording = fakeRecording({
          readings: 40,
          host,
          // Two of each name, one spiking and one steady: notes about differing instances name nothing.
          processes: names.flatMap((name, i) => [
            { name, pid: 2 * i + 10, args, owner: 'postgres', cpu: (k: number) => (k % 8 < 3 ? 40 : 1) },
            { name, pid: 2 * i + 11, args: [...args, name], owner: 'postgres', cpu: () => 5 },
          ]),
        });
        const anonymiser = hashAnonymiser(salt);
        const capture = buildCapture(recording, { anonymiser });
        const texts = [
          profileYaml(capture.profile, headerFor(capture.profile, 'x')),
          profileYaml(buildReplay(capture, recording, { anonymiser }), 'x'),
          JSON.stringify(anonymiseRecording(recording, anonymiser)),
        ];
        for (const text of texts) {
          // The hashes themselves out first: a name such as "a-08" is in "a-08dcaf47e8" by chance alone.
          const rest = text.replace(HASHED, '#');
          for (const secret of [...names, ...args, host, '/usr/bin/', 'postgres', 'system.slice']) {
            assert.ok(!rest.includes(secret), `${JSON.stringify(secret)} left in ${rest.slice(0, 200)}`);
          }
        }
        // The same key gives the same names (two captures can be compared); templates stay valid.
        assert.deepEqual(
          buildCapture(recording, { anonymiser: hashAnonymiser(salt) }).profile.templates.map((t) => t.name),
          capture.profile.templates.map((t) => t.name),
        );
        written(capture.profile);
      },
    ),
    // A name shaped like a hash's start, which one of the hashes begins with under this key.
    { numRuns: 50, examples: [[['a-08', 'a0ai'], [], '#>}']] },
  );
});

test('a name map renames what it names and hashes the rest; a target that is no process name is refused', () => {
  const recording = fakeRecording({
    readings: 5,
    processes: [
      { name: 'postgres', pid: 1, args: ['-D', '/var/lib/pg'] },
      { name: 'Web Content', pid: 2 },
    ],
  });
  const anonymiser = mapAnonymiser('names:\n  postgres: db\nargs:\n  /var/lib/pg: /data\n', 'map');
  const { profile } = buildCapture(recording, { anonymiser });
  assert.deepEqual(profile.templates[0]?.name, 'db');
  assert.deepEqual(profile.templates[0]?.args[1], '/data');
  assert.match(profile.templates[0]?.args[0] ?? '', /^a-[0-9a-f]{10}$/);
  assert.match(profile.templates[1]?.name ?? '', /^p-[0-9a-f]{10}$/);
  assert.throws(
    () => mapAnonymiser('names:\n  postgres: "my db"\n', 'name map m.yaml'),
    /name map m\.yaml: names\.postgres: .*refuses.*\(got "my db"\)/,
  );
  assert.throws(() => mapAnonymiser('names:\n  postgres: a-name-far-too-long\n', 'm'), /19 bytes/);
});

test('--scale multiplies the counts (at least one of each kind); --top keeps the heaviest names', () => {
  const processes: FakeProcess[] = [];
  let pid = 1;
  const sizes = { big: [40, 500], mid: [10, 100], small: [20, 5], tiny: [1, 1] } as const;
  for (const [name, [count, mib]] of Object.entries(sizes)) {
    for (let i = 0; i < count; i++)
      processes.push({ name, pid: pid++, rssMiB: () => mib, cpu: () => (name === 'small' ? 50 : 1) });
  }
  const recording = fakeRecording({ readings: 5, processes });
  const scaled = buildCapture(recording, { scale: 0.1 });
  assert.deepEqual(
    scaled.profile.templates.map((t) => [t.name, t.count]),
    [
      // 7.1 -> 7: 4, 1, 2 and 0.1 by largest remainder, then tiny takes one from the largest.
      ['big', 3],
      ['mid', 1],
      ['small', 2],
      ['tiny', 1],
    ],
  );
  assert.ok(scaled.source.options.some((o) => /--scale 0\.1: 7 processes of 71/.test(o)));
  const byMemory = buildCapture(recording, { top: { n: 2, by: 'memory' } });
  assert.deepEqual(
    byMemory.profile.templates.map((t) => t.name),
    ['big', 'mid'],
  );
  assert.ok(byMemory.source.options.some((o) => /kept 2 names, left out 2 \(21 processes\)/.test(o)));
  assert.deepEqual(
    buildCapture(recording, { top: { n: 1, by: 'cpu' } }).profile.templates.map((t) => t.name),
    ['small'],
  );
});

test('the replay profile drives each process through its own readings; churn keeps its fitted template', () => {
  const recording = fakeRecording({
    readings: 12,
    processes: [
      {
        name: 'api',
        pid: 1,
        cpu: (i) => i * 3,
        rssMiB: (i) => 20 + i,
        threads: 4,
        fds: 9,
        args: ['--port', '80'],
      },
      { name: 'api', pid: 2, cpu: (i) => i * 2, rssMiB: (i) => 7 + i, threads: 2, fds: 5 },
      { name: 'job', pid: 3, from: 2, to: 5, startMs: 1500 },
    ],
  });
  const capture = buildCapture(recording);
  const replay = written(buildReplay(capture, recording));
  const api = replay.templates.filter((t) => t.name === 'api');
  assert.equal(api.length, 2);
  for (const [i, template] of api.entries()) {
    const recorded = recording.processes[i];
    assert.ok(recorded && template.cpu.pattern === 'replay' && template.memory.pattern === 'replay');
    assert.deepEqual(
      template.cpu.values,
      cpuSeries(recorded).v.map((v) => Number(v.toFixed(2))),
    );
    assert.deepEqual(
      template.memory.values,
      memorySeries(recorded).v.map((v) => Number(v.toFixed(3))),
    );
    assert.equal(template.cpu.every, 1000);
    assert.equal(template.count, 1);
  }
  assert.deepEqual(
    api.map((t) => [t.threads, t.fds, t.args]),
    [
      [4, 9, ['--port', '80']],
      [2, 5, []],
    ],
  );
  const job = replay.templates.find((t) => t.name === 'job');
  assert.deepEqual(
    job,
    capture.profile.templates.find((t) => t.name === 'job'),
  );
  // Scaled: one template per template of the fitted profile, driven by the mean of its processes.
  const scaled = buildCapture(recording, { scale: 2 });
  const perName = written(buildReplay(scaled, recording, { scaled: true }));
  const both = perName.templates.find((t) => t.name === 'api');
  assert.equal(both?.count, 4);
  assert.ok(both?.memory.pattern === 'replay');
  assert.equal(both.memory.values[0], (20 + 7) / 2);
  assert.equal(both.memory.values[11], (31 + 18) / 2);
});

test('whatever the recording holds, what is written is a valid profile or the capture says why there is none', () => {
  const names = ['nginx', 'postgres', 'Web Content', 'bash', 'java', 'k{g}', 'a.b:c+d@e-f_g', 'x'];
  const processArb = fc.record({
    name: fc.constantFrom(...names),
    from: fc.integer({ min: 0, max: 29 }),
    length: fc.integer({ min: 1, max: 30 }),
    startBeforeMs: fc.integer({ min: 0, max: 86_400_000 * 40 }),
    threads: fc.integer({ min: 1, max: 5000 }),
    fds: fc.integer({ min: 0, max: 70_000 }),
    cpuBase: fc.double({ min: 0, max: 150, noNaN: true }),
    cpuSwing: fc.double({ min: 0, max: 100, noNaN: true }),
    mib: fc.double({ min: 0, max: 5000, noNaN: true }),
    growth: fc.double({ min: -5, max: 50, noNaN: true }),
    args: fc.array(fc.string({ maxLength: 300 }), { maxLength: 40 }),
  });
  fc.assert(
    fc.property(
      fc.array(processArb, { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 100, max: 10_000 }),
      fc.option(fc.double({ min: 0.01, max: 5, noNaN: true }), { nil: undefined }),
      fc.boolean(),
      (specs, intervalMs, scale, anonymise) => {
        const recording = fakeRecording({
          readings: 30,
          intervalMs,
          processes: specs.map((s, i) => ({
            name: s.name,
            pid: i + 1,
            from: s.from,
            to: s.from + s.length - 1,
            startMs: s.from * intervalMs - intervalMs / 2 - s.startBeforeMs,
            threads: s.threads,
            fds: s.fds,
            cpu: (k) => Math.max(0, s.cpuBase + (k % 3 === 0 ? s.cpuSwing : 0)),
            rssMiB: (k) => Math.max(0, s.mib + s.growth * k),
            args: s.args,
          })),
        });
        const anonymiser = anonymise ? hashAnonymiser('k') : undefined;
        let capture: ReturnType<typeof buildCapture>;
        try {
          capture = buildCapture(recording, { scale, anonymiser });
        } catch (error) {
          assert.ok(error instanceof CaptureError, String(error));
          return;
        }
        const profile = written(capture.profile);
        written(buildReplay(capture, recording, { anonymiser, scaled: scale !== undefined }));
        // Every recorded process is either behind a template or counted as left out.
        const behind = capture.entries.reduce((sum, e) => sum + e.members.length, 0);
        const left = capture.source.skipped.reduce((sum, s) => sum + s.processes, 0);
        assert.equal(behind + left, recording.processes.length);
        if (scale === undefined) {
          const throughout = capture.entries
            .filter((e) => e.kind === 'stable')
            .reduce((sum, e) => sum + e.members.length, 0);
          assert.equal(
            profile.templates.filter((t) => !t.lifetime).reduce((sum, t) => sum + t.count, 0),
            throughout,
          );
        }
      },
    ),
    { numRuns: 150 },
  );
});
