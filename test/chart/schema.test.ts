/**
 * values.schema.json refuses bad values before anything is rendered, and says where: a misspelled
 * key anywhere (generated from every key of values.yaml), a wrong type for every setting, negative
 * or out-of-range counts, unknown modes and profiles, malformed durations, times, endpoints and
 * quantities, an inline profile the simulator would refuse. The rules of the profile schema that JSON
 * Schema cannot state are refused by the templates, in the simulator's words.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { validateProfile } from '../../src/profiles/load.ts';
import { CHART_DIR, renderChart } from '../helpers/helm.ts';
import { INLINE_PROFILE } from './cases.ts';

const defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const SCHEMA_ERROR = "values don't meet the specifications of the schema";

/** Objects of values.yaml whose keys are free (labels, annotations...), or empty placeholders. */
const FREE_FORM = new Set([
  'nodeSelector',
  'podAnnotations',
  'podLabels',
  'affinity',
  'labels',
  'resourceAttributes',
  'inlineProfile',
]);

type Path = string[];

/** Every key path of values.yaml, objects included, free-form maps left out. */
function keyPaths(node: Record<string, unknown>, path: Path = []): Path[] {
  return Object.entries(node).flatMap(([key, value]) => {
    const here = [...path, key];
    const nested =
      value && typeof value === 'object' && !Array.isArray(value) && !FREE_FORM.has(key)
        ? keyPaths(value as Record<string, unknown>, here)
        : [];
    return [here, ...nested];
  });
}

/** The values with `value` set at `path` (parents created), leaving the rest to the defaults. */
function withValue(path: Path, value: unknown, base: Record<string, unknown> = {}): Record<string, unknown> {
  const values = structuredClone(base);
  let node = values;
  for (const key of path.slice(0, -1)) {
    node[key] = (node[key] as Record<string, unknown> | undefined) ?? {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
  return values;
}

function valueAt(path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], defaults);
}

/** Renders `values` and expects the schema to refuse them at `pointer`, with `detail` in the message. */
function refusedBySchema(values: Record<string, unknown>, pointer: string, detail?: RegExp): void {
  const result = renderChart(values);
  const shown = JSON.stringify(values);
  assert.notEqual(result.status, 0, `${shown} rendered`);
  assert.ok(result.stderr.includes(SCHEMA_ERROR), `${shown}: not a schema refusal: ${result.stderr}`);
  assert.ok(
    result.stderr.includes(`at '${pointer}'`),
    `${shown}: the message names ${pointer}: ${result.stderr}`,
  );
  if (detail) assert.match(result.stderr, detail, shown);
}

describe('values.schema.json', () => {
  const paths = keyPaths(defaults);

  test('a misspelled key anywhere is refused, naming it (generated misspellings of every key)', () => {
    assert.ok(paths.length > 50, `${paths.length} keys`);
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.constantFrom('suffix', 'drop', 'swap', 'case'),
        (path, how) => {
          const key = path[path.length - 1] as string;
          const misspelled =
            how === 'suffix'
              ? `${key}s`
              : how === 'drop' && key.length > 3
                ? `${key.slice(0, 1)}${key.slice(2)}`
                : how === 'swap' && key.length > 2
                  ? `${key.slice(0, -2)}${key.at(-1)}${key.at(-2)}`
                  : `${key.slice(0, 1).toUpperCase()}${key.slice(1)}`;
          if (misspelled === key) return true;
          const values = withValue([...path.slice(0, -1), misspelled], valueAt(path));
          const pointer = `/${path.slice(0, -1).join('/')}`.replace(/^\/$/, '');
          refusedBySchema(
            values,
            pointer,
            new RegExp(`additional propert(y|ies) '${misspelled}' not allowed`),
          );
          return true;
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
  });

  test('a value of the wrong type is refused for every setting', () => {
    for (const path of paths) {
      const current = valueAt(path);
      const wrong =
        typeof current === 'string'
          ? true
          : typeof current === 'number' || typeof current === 'boolean' || current === null
            ? 'not-a-number-or-flag'
            : Array.isArray(current)
              ? 'not-a-list'
              : 'not-an-object';
      refusedBySchema(withValue(path, wrong), `/${path.join('/')}`);
    }
  });

  test('counts, ports, ids and ratios out of range', () => {
    const cases: Array<[Path, unknown]> = [
      [['shards'], -1],
      [['shards'], 0],
      [['shards'], 10_001],
      [['shards'], 2.5],
      [['processesPerShard'], -3],
      [['processesPerShard'], 12_001],
      [['processCount'], -1],
      [['processCount'], 100_001],
      [['seed'], -1],
      [['seed'], 2 ** 31],
      [['service', 'controlPort'], 0],
      [['service', 'metricsPort'], 65_536],
      [['job', 'retriesPerShard'], -1],
      [['runAsUser'], 0],
      [['runAsGroup'], 0],
      [['resources', 'memoryLimitRatio'], 0.5],
      [['resources', 'memoryLimitRatio'], -1],
      [['resources', 'podPidsLimit'], -5],
      [['resources', 'overhead', 'engineMiB'], -1],
      [['probes', 'periodSeconds'], 0],
      [['terminationGracePeriodSeconds'], 1],
    ];
    for (const [path, value] of cases) refusedBySchema(withValue(path, value), `/${path.join('/')}`);
  });

  test('unknown names and malformed text', () => {
    const cases: Array<[Path, unknown, RegExp?]> = [
      [['mode'], 'cronjob', /value must be one of 'daemonset', 'job', 'deployment'/],
      [['profile'], 'realistik', /value must be one of 'realistic'/],
      [['logLevel'], 'verbose'],
      [['image', 'pullPolicy'], 'Sometimes'],
      [['duration'], '10 minutes', /does not match pattern/],
      [['duration'], '-5m'],
      [['linger'], '1 hour'],
      [['startDelay'], 'soon'],
      [['startAt'], 'tomorrow'],
      [['startAt'], '2030-01-01 10:00:00Z'],
      [['experimentId'], 'has space'],
      [['exporter', 'otlpEndpoint'], 'localhost'],
      [['exporter', 'otlpEndpoint'], 'ftp://collector:4317'],
      [['exporter', 'interval'], '10'],
      [['exporter', 'resourceAttributes'], { team: 'a,b' }],
      [['resources', 'cpu'], 'lots'],
      [['resources', 'memory'], '2GB'],
      [['serviceMonitor', 'interval'], '30 s'],
      [['apiToken', 'existingSecret'], 'Not_A_Name'],
      [['extraEnv'], [{ name: 'PROFILE', value: 'chaos' }], /value must be one of 'MAX_PROCESSES'/],
      [['extraEnv'], [{ name: 'NODE_OPTIONS', value: '--inspect' }]],
      [['extraEnv'], [{ name: 'MAX_DURATION' }]],
      [['imagePullSecrets'], [{ name: 'x', namespace: 'y' }]],
    ];
    for (const [path, value, detail] of cases) {
      const pointer = `/${path.join('/')}`;
      const values = withValue(path, value);
      const result = renderChart(values);
      assert.notEqual(result.status, 0, `${JSON.stringify(values)} rendered`);
      assert.ok(result.stderr.includes(SCHEMA_ERROR), `${pointer}: ${result.stderr}`);
      assert.ok(result.stderr.includes(`at '${pointer}`), `${pointer} named: ${result.stderr}`);
      if (detail) assert.match(result.stderr, detail);
    }
  });

  test('rules across fields: a job needs a duration; without a created token, an existing Secret', () => {
    refusedBySchema({ mode: 'job', duration: '' }, '/duration');
    refusedBySchema({ mode: 'job', duration: null }, '', /missing property 'duration'/);
    refusedBySchema({ apiToken: { create: false } }, '/apiToken/existingSecret');
    // The same values are fine where they do not matter, or complete.
    assert.equal(renderChart({ mode: 'deployment', duration: null }).status, 0);
    assert.equal(renderChart({ apiToken: { create: false, existingSecret: 'mine' } }).status, 0);
  });
});

describe('inline profiles', () => {
  const withTemplate = (change: Record<string, unknown>) => ({
    ...INLINE_PROFILE,
    templates: [{ ...INLINE_PROFILE.templates[0], ...change }, ...INLINE_PROFILE.templates.slice(1)],
  });

  test('what the profile schema refuses, the chart’s schema refuses at /inlineProfile', () => {
    const bad: Array<Record<string, unknown>> = [
      { ...INLINE_PROFILE, name: 'Upper Case' },
      { ...INLINE_PROFILE, templates: [] },
      { ...INLINE_PROFILE, colour: 'red' },
      withTemplate({ name: 'has space' }),
      withTemplate({ count: -1 }),
      withTemplate({ count: 1.5 }),
      withTemplate({ priority: 'urgent' }),
      withTemplate({ cpu: { pattern: 'sawtooth', value: 3 } }),
      withTemplate({ cpu: -2 }),
      withTemplate({ memory: { pattern: 'steady', value: 5, extra: 1 } }),
      withTemplate({ cpus: 3 }),
      withTemplate({ threads: 0 }),
      withTemplate({ fds: 2 }),
      withTemplate({ restart: 'sometimes' }),
      withTemplate({ lifetime: '5 minutes', priority: 'low' }),
      withTemplate({ args: ['ok', 'tab\there'] }),
      { ...INLINE_PROFILE, chaos: { failures_per_minute: 1, typo: 2 } },
    ];
    for (const profile of bad) {
      assert.throws(() => validateProfile(profile), `the simulator refuses ${JSON.stringify(profile)} too`);
      const result = renderChart({ inlineProfile: profile });
      assert.notEqual(result.status, 0, `${JSON.stringify(profile)} rendered`);
      assert.ok(result.stderr.includes(SCHEMA_ERROR), result.stderr);
      assert.ok(result.stderr.includes("at '/inlineProfile"), result.stderr);
    }
  });

  test('the rules JSON Schema cannot state are refused by the templates, naming the field', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [withTemplate({ name: 'a-very-long-name-{i}' }), /templates\[0\]\.name: .* Linux keeps only 15 bytes/],
      [
        withTemplate({ cpu: { pattern: 'spiky', base: 1, peak: 5, every: '10s', for: '20s' } }),
        /templates\[0\]\.cpu\.for: a spike cannot last longer than `every`/,
      ],
      [
        withTemplate({ memory: { pattern: 'growing', start: 50, max: 10, per_minute: 1 } }),
        /templates\[0\]\.memory\.max: max must be >= start/,
      ],
      [
        withTemplate({ cpu: { pattern: 'random', min: 5, max: 1, every: '1s' } }),
        /templates\[0\]\.cpu\.max: max must be >= min/,
      ],
      [withTemplate({ cpu: 150 }), /templates\[0\]\.cpu: CPU is a share of one core: at most 100/],
      [withTemplate({ lifetime: '1m' }), /templates\[0\]\.lifetime: critical processes are never churned/],
      [
        withTemplate({ priority: 'low', lifetime: { min: '2m', max: '1m' } }),
        /templates\[0\]\.lifetime\.max: max must be >= min/,
      ],
    ];
    for (const [profile, message] of bad) {
      assert.throws(() => validateProfile(profile), `the simulator refuses ${JSON.stringify(profile)} too`);
      const result = renderChart({ inlineProfile: profile });
      assert.notEqual(result.status, 0, `${JSON.stringify(profile)} rendered`);
      assert.match(result.stderr, message);
    }
  });
});
