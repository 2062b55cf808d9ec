import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  builtinProfile,
  builtinProfileNames,
  loadProfileFile,
  validateProfile,
} from '../../src/profiles/load.ts';
import { lifetimeOf, planProcesses, processSeedKey, scaleProfile } from '../../src/profiles/plan.ts';
import { MAX_COMM_BYTES, MAX_REPLAY_POINTS } from '../../src/profiles/schema.ts';

test('every built-in profile validates and its names fit in a Linux process name', () => {
  for (const name of builtinProfileNames()) {
    const profile = builtinProfile(name);
    for (const planned of planProcesses(scaleProfile(profile, 2000))) {
      assert.ok(Buffer.byteLength(planned.name) <= MAX_COMM_BYTES, `${name}: ${planned.name}`);
    }
  }
});

test('high-churn is an alias of process-churn', () => {
  assert.deepEqual(builtinProfile('high-churn'), builtinProfile('process-churn'));
});

test('high-cardinality has 500+ unique names by default and more with a count', () => {
  const names = planProcesses(builtinProfile('high-cardinality')).map((p) => p.name);
  assert.ok(names.length >= 500);
  assert.equal(new Set(names).size, names.length);
  const scaled = planProcesses(scaleProfile(builtinProfile('high-cardinality'), 10_000)).map((p) => p.name);
  assert.equal(scaled.length, 10_000);
  assert.equal(new Set(scaled).size, 10_000);
});

test('realistic has every kind of process the README promises, all four priorities', () => {
  const profile = builtinProfile('realistic');
  const names = profile.templates.map((t) => t.name).join(' ');
  for (const kind of ['nginx', 'postgres', 'redis', 'gunicorn', 'node-api', 'chrome-tab', 'cron'])
    assert.match(names, new RegExp(kind));
  assert.deepEqual(
    new Set(profile.templates.map((t) => t.priority)),
    new Set(['critical', 'high', 'medium', 'low']),
  );
  const tabs = profile.templates.find((t) => t.name.startsWith('chrome-tab'));
  assert.equal(tabs?.memory.pattern, 'growing');
  assert.deepEqual(tabs?.lifetime, { min: 120_000, max: 360_000 }, 'browser tabs live 2 to 6 minutes');
});

test('critical processes are never given a lifetime in the built-ins, and a profile that tries is refused', () => {
  for (const name of builtinProfileNames()) {
    for (const template of builtinProfile(name).templates)
      if (template.priority === 'critical') assert.equal(template.lifetime, undefined);
  }
  assert.throws(
    () =>
      validateProfile({
        name: 'x',
        templates: [{ name: 'db', count: 1, priority: 'critical', lifetime: '10s' }],
      }),
    /templates\.0\.lifetime: critical processes are never churned/,
  );
});

test('scaling keeps proportions and hits the requested total exactly', () => {
  const scaled = scaleProfile(builtinProfile('realistic'), 100);
  assert.equal(
    scaled.templates.reduce((sum, t) => sum + t.count, 0),
    100,
  );
  const nginx = scaled.templates.find((t) => t.name === 'nginx-worker');
  assert.ok(nginx && nginx.count >= 14 && nginx.count <= 16, `nginx-worker x${nginx?.count}`);
});

test('a small run keeps at least one of every kind of process, critical ones included', () => {
  const scaled = scaleProfile(builtinProfile('process-churn'), 10);
  assert.equal(
    scaled.templates.reduce((sum, t) => sum + t.count, 0),
    10,
  );
  assert.ok(
    scaled.templates.every((t) => t.count >= 1),
    scaled.templates.map((t) => `${t.name}x${t.count}`).join(' '),
  );
});

test('the same seed gives the same names, patterns and churn schedule', () => {
  const profile = builtinProfile('process-churn');
  const schedule = (seed: number) =>
    planProcesses(profile).map(
      (p) => `${p.name}:${lifetimeOf(p.template, processSeedKey(seed, p.templateIndex, p.index, 0))}`,
    );
  assert.deepEqual(schedule(42), schedule(42));
  assert.notDeepEqual(schedule(42), schedule(43));
});

test('validation errors name the field, the value and what was expected', () => {
  assert.throws(
    () =>
      validateProfile({
        name: 'mine',
        templates: [{ name: 'web', count: 2, priority: 'urgent' }],
      }),
    (error: Error) =>
      /templates\.0\.priority/.test(error.message) &&
      /"urgent"/.test(error.message) &&
      /critical/.test(error.message),
  );
  assert.throws(
    () =>
      validateProfile({
        name: 'mine',
        templates: [{ name: 'a-process-name-too-long', count: 1, priority: 'low' }],
      }),
    /templates\.0\.name: expands to "a-process-name-too-long".*15 bytes/,
  );
  assert.throws(
    () => validateProfile({ name: 'mine', templates: [{ name: 'x', count: 1, priority: 'low', cpu: 250 }] }),
    /templates\.0\.cpu.*at most 100/,
  );
  assert.throws(
    () =>
      validateProfile({ name: 'mine', templates: [{ name: 'x', count: 1, priority: 'low', colour: 'red' }] }),
    /colour/,
  );
  assert.throws(() => builtinProfile('nope'), /profile: unknown profile; expected one of realistic/);
});

test('loads a user profile from YAML and from JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-test-'));
  try {
    const yaml = join(dir, 'mine.yaml');
    writeFileSync(
      yaml,
      [
        'name: mine',
        'templates:',
        '  - name: web-{i}',
        '    count: 3',
        '    priority: high',
        '    cpu: {pattern: spiky, base: 1, peak: 20, every: 30s, for: 5s}',
        '    memory: 32',
        '    threads: 4',
        '    fds: 20',
      ].join('\n'),
    );
    const profile = loadProfileFile(yaml);
    assert.equal(profile.templates[0]?.cpu.pattern, 'spiky');
    assert.deepEqual(
      planProcesses(profile).map((p) => p.name),
      ['web-1', 'web-2', 'web-3'],
    );
    const json = join(dir, 'mine.json');
    writeFileSync(
      json,
      JSON.stringify({
        name: 'mine',
        templates: [
          {
            name: 'db',
            count: 1,
            priority: 'critical',
            memory: { pattern: 'growing', start: 10, max: 20, per_minute: 1 },
          },
        ],
      }),
    );
    assert.equal(loadProfileFile(json).templates[0]?.memory.pattern, 'growing');
    writeFileSync(json, '{ not json');
    assert.throws(() => loadProfileFile(json), /mine\.json is not valid JSON/);
    assert.throws(
      () => loadProfileFile(join(dir, 'missing.yaml')),
      /missing\.yaml cannot be opened \(ENOENT\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a replay pattern validates like the others: points bounded, time per point > 0, CPU at most 100', () => {
  const template = (cpu: unknown) => ({
    name: 'mine',
    templates: [{ name: 'x', count: 1, priority: 'low', cpu }],
  });
  const ok = validateProfile(template({ pattern: 'replay', every: '500ms', values: [1, 50, 100] }));
  assert.deepEqual(ok.templates[0]?.cpu, {
    pattern: 'replay',
    every: 500,
    values: [1, 50, 100],
    repeat: true,
  });
  assert.throws(
    () => validateProfile(template({ pattern: 'replay', every: 0, values: [1] })),
    /templates\.0\.cpu\.every: a replay needs a time per value greater than 0/,
  );
  assert.throws(
    () => validateProfile(template({ pattern: 'replay', every: '1s', values: [1, 100.5] })),
    /templates\.0\.cpu.*at most 100.*got 100\.5/,
  );
  assert.throws(() => validateProfile(template({ pattern: 'replay', every: '1s', values: [] })), /values/);
  assert.throws(
    () => validateProfile(template({ pattern: 'replay', every: '1s', values: [-1] })),
    /templates\.0\.cpu\.values\.0/,
  );
  assert.throws(
    () =>
      validateProfile(
        template({ pattern: 'replay', every: '1s', values: new Array(MAX_REPLAY_POINTS + 1).fill(1) }),
      ),
    /templates\.0\.cpu\.values: a replay holds at most 10000 values \(got 10001\)/,
  );
});

test('a source block is kept as given and refused when malformed', () => {
  const source = {
    kind: 'capture',
    host: 'db-1',
    kernel: '6.1.0',
    from: '2025-01-01T00:00:00.000Z',
    to: '2025-01-01T00:10:00.000Z',
    interval_ms: 5000,
    samples: 121,
    estimates: [
      {
        template: 'postgres',
        processes: 3,
        cpu: { pattern: 'spiky', samples: 360, rmse: 2.1, r2: 0.93 },
        memory: { pattern: 'steady', samples: 363, rmse: 0.2 },
      },
    ],
  };
  const profile = validateProfile({
    name: 'mine',
    templates: [{ name: 'postgres', count: 3, priority: 'high' }],
    source,
  });
  assert.equal(profile.source?.host, 'db-1');
  assert.deepEqual(profile.source?.skipped, []);
  assert.throws(
    () =>
      validateProfile({
        name: 'mine',
        templates: [{ name: 'x', count: 1, priority: 'low' }],
        source: { ...source, samples: -1 },
      }),
    /source\.samples/,
  );
  assert.throws(
    () =>
      validateProfile({
        name: 'mine',
        templates: [{ name: 'x', count: 1, priority: 'low' }],
        source: { ...source, guessed: true },
      }),
    /guessed/,
  );
});
