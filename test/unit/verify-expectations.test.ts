/**
 * Expectations files are validated like profiles: every bad field is named with its value and what was
 * expected; the shipped example files are valid; keep and drop select processes as documented (within
 * keep every field given must match, within drop any field that matches drops).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { matchGlob } from '../../src/engine/glob.ts';
import { PRIORITIES } from '../../src/profiles/schema.ts';
import { ValidationError } from '../../src/profiles/validation-error.ts';
import { PROCESS_METRICS } from '../../src/telemetry/process-metrics.ts';
import {
  keepsMetric,
  keepsProcess,
  loadExpectationsFile,
  validateExpectations,
} from '../../src/verify/expectations.ts';

const dir = mkdtempSync(join(tmpdir(), 'psim-expectations-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('defaults: everything unchanged, 60 s staleness, 30 s delay, 1 % memory, 2 ticks', () => {
  const defaults = validateExpectations(undefined);
  assert.deepEqual(
    { ...defaults, origin: undefined },
    {
      keep: undefined,
      drop: undefined,
      attributes: { removed: [], renamed: {}, added: [], ignored: [] },
      aggregate: undefined,
      stalenessMs: 60_000,
      maxDelayMs: 30_000,
      tolerances: { memoryPercent: 1, cpuTicks: 2 },
      origin: undefined,
    },
  );
  assert.match(defaults.origin, /default/);
  assert.deepEqual(
    { ...loadExpectationsFile(file('empty.yaml', '')).expectations, origin: '' },
    { ...defaults, origin: '' },
  );
});

test('every bad field is named with its value and what was expected', () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      { drop: { priorities: ['urgent'] } },
      /drop\.priorities\.0: .*"critical"\|"high"\|"medium"\|"low" \(got "urgent"\)/,
    ],
    [
      { keep: { metrics: ['process.cpu'] } },
      /keep\.metrics\.0: .*process\.cpu\.time.* \(got "process\.cpu"\)/,
    ],
    [{ staleness: '0s' }, /staleness: staleness: a duration above 0 .*\(got "0s"\)/],
    [{ max_delay: 'soon' }, /max_delay: expected a duration like .*\(got "soon"\)/],
    [{ staleness: '2d' }, /staleness: .*at most 24h \(got "2d"\)/],
    [{ tolerances: { memory_percent: 101 } }, /tolerances\.memory_percent: .*100 \(got 101\)/],
    [
      { attributes: { renamed: { 'process.owner': 'process.owner' } } },
      /attributes\.renamed\.[^:]+: a new name different from the old one \(got "process\.owner"\)/,
    ],
    [
      { attributes: { removed: ['process.owner'], renamed: { 'process.owner': 'owner' } } },
      /renamed or removed, not both/,
    ],
    [{ attributes: { removed: ['bad key'] } }, /attributes\.removed\.0: an attribute key.*\(got "bad key"\)/],
    [{ aggregate: { by: [] } }, /aggregate\.by: .*>=1/],
    [{ colour: 'red' }, /colour/],
    [{ drop: { names: ['has space'] } }, /drop\.names\.0: a process name pattern/],
  ];
  for (const [input, message] of cases) {
    const error = (() => {
      try {
        validateExpectations(input, 'test');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof ValidationError, `${JSON.stringify(input)} refused`);
    assert.match(error.message, /^invalid expectations \(test\): /);
    assert.match(error.message, message, JSON.stringify(input));
  }
});

test('a file that cannot be read or parsed is refused naming the file', () => {
  assert.throws(
    () => loadExpectationsFile(join(dir, 'missing.yaml')),
    /invalid expectations: file: cannot be read: .*ENOENT: no such file or directory, open '.*missing\.yaml'/,
  );
  assert.throws(() => loadExpectationsFile(file('bad.yaml', 'drop: [low\n')), /is not valid YAML/);
  assert.throws(() => loadExpectationsFile(file('bad.json', '{"drop": ')), /is not valid JSON/);
  assert.deepEqual(
    loadExpectationsFile(file('ok.json', '{"drop": {"priorities": ["low"]}, "staleness": 90}')).expectations
      .drop,
    { priorities: ['low'] },
  );
});

test('the shipped expectations files are valid', () => {
  const root = new URL('../../otel-collector/', import.meta.url).pathname;
  const files = [
    ...readdirSync(join(root, 'pipelines'))
      .filter((name) => name.endsWith('.expect.yaml'))
      .map((name) => join(root, 'pipelines', name)),
    join(root, 'hostmetrics.expect.yaml'),
  ];
  assert.ok(files.length >= 4, files.join());
  for (const path of files) assert.ok(loadExpectationsFile(path).expectations, path);
});

test('keep and drop select processes and metrics as documented, for generated selections', () => {
  const names = fc.constantFrom('api-1', 'api-2', 'db', 'job-a1-3', 'worker');
  const patterns = fc.constantFrom('api-*', 'db', 'job-?1-*', '*', 'nope');
  const selection = fc.record(
    {
      priorities: fc.subarray([...PRIORITIES], { minLength: 1 }),
      names: fc.array(patterns, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(
      fc.option(selection, { nil: undefined }),
      fc.option(selection, { nil: undefined }),
      names,
      fc.constantFrom(...PRIORITIES),
      (keep, drop, name, priority) => {
        const expectations = validateExpectations({ ...(keep ? { keep } : {}), ...(drop ? { drop } : {}) });
        const matches = (s: { priorities?: string[]; names?: string[] }, every: boolean) => {
          const tests = [
            ...(s.priorities ? [s.priorities.includes(priority)] : []),
            ...(s.names ? [s.names.some((pattern) => matchGlob(pattern, name))] : []),
          ];
          return tests.length === 0 ? undefined : every ? tests.every(Boolean) : tests.some(Boolean);
        };
        const kept = (!keep || matches(keep, true) !== false) && (!drop || matches(drop, false) !== true);
        assert.equal(keepsProcess(expectations, name, priority), kept);
      },
    ),
  );
  const metrics = PROCESS_METRICS.map((metric) => metric.name);
  const some = validateExpectations({
    keep: { metrics: metrics.slice(0, 3) },
    drop: { metrics: [metrics[1]] },
  });
  assert.deepEqual(
    metrics.filter((metric) => keepsMetric(some, metric)),
    [metrics[0], metrics[2]],
  );
});
