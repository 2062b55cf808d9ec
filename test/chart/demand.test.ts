/**
 * What the chart derives from a profile agrees with the simulator's own arithmetic: the committed
 * table of built-in profiles is what scripts/chart-profiles.ts writes now, and for generated inline
 * profiles (every pattern kind, durations in every spelling, churn, chaos), totals and shard counts,
 * the Go-template sums equal the same sums done with src/profiles/demand.ts, and cover the fullest
 * shard by less than one process of each template.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { PROFILES_FILE, profilesYaml, SCHEMA_FILE, schemaJson } from '../../scripts/chart-profiles.ts';
import { DEFAULT_CHAOS } from '../../src/engine/chaos.ts';
import { profileDemand, templateDemand } from '../../src/profiles/demand.ts';
import { builtinProfile, validateProfile } from '../../src/profiles/load.ts';
import { scaleProfile, shardProfile } from '../../src/profiles/plan.ts';
import type { Profile } from '../../src/profiles/schema.ts';
import { REPO_ROOT, renderChart } from '../helpers/helm.ts';
import { podTemplateOf, workloadOf } from './pods.ts';

const MIB = 2 ** 20;
/** values.yaml's resources.overhead. */
const OVERHEAD = {
  engineMiB: 224,
  engineKiBPerProcess: 40,
  kernelKiBPerProcess: 256,
  milli: 20,
  milliPerThousand: 10,
  tasks: 32,
};

describe('the generated files', () => {
  test('profiles.yaml and the schema’s generated definitions are up to date (node scripts/chart-profiles.ts)', () => {
    const check = spawnSync(process.execPath, ['scripts/chart-profiles.ts', '--check'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(readFileSync(PROFILES_FILE, 'utf8'), profilesYaml());
    const schema = readFileSync(SCHEMA_FILE, 'utf8');
    assert.equal(schemaJson(schema), schema);
    // A stale definition is noticed.
    const stale = JSON.parse(schema) as { $defs: Record<string, unknown> };
    stale.$defs.builtinProfileName = { enum: ['realistic'] };
    assert.notEqual(schemaJson(`${JSON.stringify(stale, null, 2)}\n`), `${JSON.stringify(stale, null, 2)}\n`);
  });

  test('each built-in profile’s rows add up to its demand', () => {
    const table = parse(readFileSync(PROFILES_FILE, 'utf8')) as {
      profiles: Record<string, { demand: Record<string, number>; templates: Array<Record<string, number>> }>;
    };
    for (const [name, entry] of Object.entries(table.profiles)) {
      const demand = profileDemand(builtinProfile(name));
      const sum = (key: string) =>
        entry.templates.reduce((total, t) => total + (t.count as number) * (t[key] as number), 0);
      assert.equal(sum('threads'), demand.threads, name);
      assert.equal(sum('fds'), demand.fds, name);
      assert.ok(Math.abs(sum('memoryMiB') - demand.memoryBytes / MIB) < 1e-6, name);
      assert.ok(Math.abs(sum('cpuPercent') - demand.cpuPercent) < 1e-6, name);
      assert.equal(entry.demand.processes, demand.processes);
    }
  });
});

interface Bound {
  processes: number;
  tasks: number;
  fds: number;
  memoryMi: number;
  milliCpu: number;
  pids: number;
}

/** The chart's arithmetic, done with the simulator's demand functions. */
function chartBound(profile: Profile, total: number | undefined, shards: number, chaos: boolean): Bound {
  const current = profile.templates.reduce((sum, t) => sum + t.count, 0);
  const scaling = total !== undefined && current > 0 && total !== current;
  const runTotal = scaling ? (total as number) : current;
  let processes = 0;
  let tasks = 0;
  let fds = 0;
  let memory = 0;
  let cpu = 0;
  // The chart finds the simulator's own counts of a scaled run.
  const counts = scaleProfile(profile, total).templates.map((t) => t.count);
  for (const [i, template] of profile.templates.entries()) {
    const count = counts[i] as number;
    const share = Math.ceil(count / shards);
    const one = templateDemand({ ...template, count: 1 });
    processes += share;
    tasks += share * template.threads;
    fds += share * template.fds;
    memory += (share * one.memoryBytes) / MIB;
    cpu += share * one.cpuPercent;
  }
  processes = Math.min(processes, Math.ceil(runTotal / shards));
  const settings = profile.chaos ?? DEFAULT_CHAOS;
  const on = chaos || profile.chaos !== undefined;
  const leakMinutes = settings.leak_duration / 60_000;
  const leak = on
    ? Math.ceil(settings.leaks_per_minute * leakMinutes + 1) * settings.leak_mib_per_minute * leakMinutes
    : 0;
  const spike = on
    ? settings.spikes_per_minute * (settings.spike_duration / 60_000) * settings.spike_percent
    : 0;
  const memoryMi = Math.ceil(
    memory +
      (processes * OVERHEAD.kernelKiBPerProcess) / 1024 +
      OVERHEAD.engineMiB +
      (processes * OVERHEAD.engineKiBPerProcess) / 1024 +
      leak,
  );
  const milliCpu = Math.max(
    1,
    Math.ceil((cpu + spike) * 10 + OVERHEAD.milli + (processes * OVERHEAD.milliPerThousand) / 1000),
  );
  return { processes, tasks, fds, memoryMi, milliCpu, pids: tasks + Math.ceil(tasks / 10) + OVERHEAD.tasks };
}

/** A duration in one of the spellings the simulator reads. */
const duration = (minMs: number, maxMs: number) =>
  fc
    .integer({ min: minMs, max: maxMs })
    .chain((ms) =>
      fc.constantFrom<string | number>(
        `${ms}ms`,
        ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`,
        ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms}ms`,
        ms >= 60_000 && ms % 1000 === 0 ? `${Math.floor(ms / 60_000)}m${(ms % 60_000) / 1000}s` : `${ms}ms`,
        ms % 1000 === 0 ? ms / 1000 : `${ms}ms`,
      ),
    );

const level = (max: number) => fc.double({ min: 0, max, noNaN: true }).map((x) => Math.round(x * 100) / 100);

const pattern = (max: number) =>
  fc.oneof(
    level(max),
    level(max).map((value) => ({ pattern: 'steady', value })),
    fc
      .tuple(
        level(max),
        level(max),
        fc.integer({ min: 1000, max: 600_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
      )
      .chain(([base, peak, every, share]) =>
        fc
          .tuple(duration(every, every), duration(Math.floor(every * share), Math.floor(every * share)))
          .map(([e, f]) => ({
            pattern: 'spiky',
            base,
            peak,
            every: e,
            for: f,
          })),
      ),
    fc.tuple(level(max), level(max), level(50), fc.boolean()).map(([a, b, perMinute, reset]) => ({
      pattern: 'growing',
      start: Math.min(a, b),
      max: Math.max(a, b),
      per_minute: perMinute,
      reset,
    })),
    fc.tuple(level(max), level(max), duration(100, 60_000)).map(([a, b, every]) => ({
      pattern: 'random',
      min: Math.min(a, b),
      max: Math.max(a, b),
      every,
    })),
  );

const template = fc
  .record({
    base: fc.constantFrom('svc', 'api', 'job', 'w'),
    form: fc.constantFrom('', '-{i}', '-{i}-{g}'),
    count: fc.integer({ min: 0, max: 300 }),
    priority: fc.constantFrom('critical', 'high', 'medium', 'low'),
    cpu: pattern(100),
    memory: pattern(400),
    threads: fc.integer({ min: 1, max: 12 }),
    fds: fc.integer({ min: 3, max: 80 }),
    churn: fc.option(fc.tuple(duration(1000, 600_000), duration(1000, 600_000), duration(0, 120_000)), {
      nil: undefined,
    }),
    restart: fc.constantFrom('always', 'on-failure', 'never'),
  })
  .map(({ base, form, churn, priority, restart, ...rest }) => {
    const lifetime = churn && priority !== 'critical' ? { min: churn[0], max: churn[0] } : undefined;
    return {
      name: `${base}${form}`,
      priority,
      ...rest,
      ...(lifetime ? { lifetime, restart, restart_delay: (churn as unknown[])[2] } : {}),
    };
  });

const inlineProfile = fc
  .record({
    templates: fc.array(template, { minLength: 1, maxLength: 6 }),
    chaos: fc.option(
      fc.record(
        {
          spikes_per_minute: level(6),
          spike_percent: fc.integer({ min: 1, max: 100 }),
          spike_duration: duration(1000, 120_000),
          leaks_per_minute: level(4),
          leak_mib_per_minute: level(50),
          leak_duration: duration(1000, 300_000),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
  })
  .map(({ templates, chaos }) => ({ name: 'generated', templates, ...(chaos ? { chaos } : {}) }));

describe('resources derived from an inline profile', () => {
  test('equal the simulator’s sums and cover the fullest shard (generated profiles, totals, shards)', () => {
    fc.assert(
      fc.property(
        inlineProfile,
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        fc.boolean(),
        (input, shards, total, chaos) => {
          let profile: Profile;
          try {
            profile = validateProfile(input);
          } catch {
            return true; // rare: a generated name too long for its count
          }
          const rendered = renderChart({ inlineProfile: input, shards, processCount: total ?? null, chaos });
          assert.equal(rendered.status, 0, rendered.stderr);
          const annotations = podTemplateOf(workloadOf(rendered.objects, 'job')).metadata.annotations;
          const chart = {
            processes: Number(annotations['process-simulator/processes-per-shard']),
            tasks: Number(annotations['process-simulator/tasks-per-shard']),
            fds: Number(annotations['process-simulator/fds-per-shard']),
            memoryMi: Number(annotations['process-simulator/memory-mib']),
            milliCpu: Number(annotations['process-simulator/milli-cpu']),
            pids: Number(annotations['process-simulator/pids-needed']),
          };
          const expected = chartBound(profile, total, shards, chaos);
          const shown = JSON.stringify({ input, shards, total, chaos, chart, expected });
          assert.equal(chart.processes, expected.processes, shown);
          assert.equal(chart.tasks, expected.tasks, shown);
          assert.equal(chart.fds, expected.fds, shown);
          assert.equal(chart.pids, expected.pids, shown);
          // The templates sum in decimal arithmetic, the simulator in binary floating point.
          assert.ok(Math.abs(chart.memoryMi - expected.memoryMi) <= 1, shown);
          assert.ok(Math.abs(chart.milliCpu - expected.milliCpu) <= 1, shown);

          // Against the exact shards: at least the fullest, at most one process of each template more.
          const scaled = scaleProfile(profile, total);
          let fullestMemory = 0;
          let fullestProcesses = 0;
          for (let index = 0; index < shards; index++) {
            const demand = profileDemand(shardProfile(scaled, { index, count: shards }));
            fullestMemory = Math.max(fullestMemory, demand.memoryBytes / MIB);
            fullestProcesses = Math.max(fullestProcesses, demand.processes);
          }
          const slack = profile.templates.reduce(
            (sum, t) => sum + templateDemand({ ...t, count: 1 }).memoryBytes / MIB,
            0,
          );
          const engine = OVERHEAD.engineMiB;
          assert.ok(chart.processes >= fullestProcesses, shown);
          assert.ok(chart.memoryMi >= fullestMemory + engine, shown);
          assert.ok(chart.processes <= fullestProcesses + profile.templates.length, shown);
          const overheadMi =
            engine + (chart.processes * (OVERHEAD.engineKiBPerProcess + OVERHEAD.kernelKiBPerProcess)) / 1024;
          assert.ok(
            chart.memoryMi - overheadMi - chaosLeak(profile, chaos) <= fullestMemory + slack + 1,
            shown,
          );
          return true;
        },
      ),
      { numRuns: 30, endOnFailure: true },
    );
  });
});

/** The chaos headroom of `profile`, MiB. */
function chaosLeak(profile: Profile, chaos: boolean): number {
  if (!chaos && !profile.chaos) return 0;
  const settings = profile.chaos ?? DEFAULT_CHAOS;
  const minutes = settings.leak_duration / 60_000;
  return Math.ceil(settings.leaks_per_minute * minutes + 1) * settings.leak_mib_per_minute * minutes;
}
