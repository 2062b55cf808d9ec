/**
 * METRICS_CONFIG: the hostmetrics receiver's own configuration shape switches the metrics and the
 * per-process attributes, from a whole collector file (the project's own hostmetrics.yaml as it is)
 * down to the process scraper's block; what the receiver would refuse is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config.ts';
import { loadMetricsConfig, metricsConfigFrom, receiverDefaults } from '../../src/config/metrics-config.ts';
import { seriesPerProcess } from '../../src/simulator.ts';
import {
  defaultSelection,
  PROCESS_ATTRIBUTE_KEYS,
  PROCESS_METRICS,
} from '../../src/telemetry/process-metrics.ts';

const HOSTMETRICS_YAML = new URL('../../otel-collector/hostmetrics.yaml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'metrics-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const sorted = (set: ReadonlySet<string>) => [...set].sort();

describe('METRICS_CONFIG', () => {
  it("takes the project's hostmetrics.yaml as it is: the receiver's defaults plus threads and fds", () => {
    const { selection, notes } = loadMetricsConfig(HOSTMETRICS_YAML);
    assert.deepEqual(sorted(selection.metrics), [
      'process.cpu.time',
      'process.disk.io',
      'process.memory.usage',
      'process.memory.virtual',
      'process.open_file_descriptors',
      'process.threads',
    ]);
    assert.deepEqual(sorted(selection.attributes), sorted(defaultSelection().attributes));
    assert.equal(notes.length, 1);
    assert.match(
      notes[0] ?? '',
      /receivers\.host_metrics\.scrapers\.process: "include", "exclude", "mute_process_name_error"/,
    );
  });

  it('finds the scraper in a collector file, a receiver, a scrapers map or alone', () => {
    const block = [
      'metrics:',
      '  process.cpu.utilization: {enabled: true}',
      '  process.memory.virtual: {enabled: false}',
      'resource_attributes:',
      '  process.cgroup: {enabled: true}',
      '  process.owner: {enabled: false}',
    ];
    const indent = (lines: string[], n: number) => lines.map((line) => ' '.repeat(n) + line);
    const shapes = {
      collector: [
        'receivers:',
        '  otlp: {}',
        '  hostmetrics/custom:',
        '    scrapers:',
        '      cpu:',
        '      process:',
        ...indent(block, 8),
      ],
      receiver: ['collection_interval: 5s', 'scrapers:', '  process:', ...indent(block, 4)],
      scrapers: ['process:', ...indent(block, 2)],
      block,
    };
    for (const [shape, lines] of Object.entries(shapes)) {
      const { selection } = loadMetricsConfig(file(`${shape}.yaml`, `${lines.join('\n')}\n`));
      assert.ok(selection.metrics.has('process.cpu.utilization'), shape);
      assert.ok(!selection.metrics.has('process.memory.virtual'), shape);
      assert.ok(!selection.metrics.has('process.threads'), `${shape}: the receiver's default, off`);
      assert.ok(selection.metrics.has('process.cpu.time'), shape);
      assert.ok(selection.attributes.has('process.cgroup'), shape);
      assert.ok(!selection.attributes.has('process.linux.cgroup'), shape);
      assert.ok(!selection.attributes.has('process.owner'), shape);
    }
    // JSON too
    const json = file(
      'c.json',
      JSON.stringify({ metrics: { 'process.signals_pending': { enabled: true } } }),
    );
    assert.ok(loadMetricsConfig(json).selection.metrics.has('process.signals_pending'));
  });

  it('applies any set of switches over the receiver defaults', () => {
    const names = PROCESS_METRICS.map((m) => m.name);
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...names), fc.option(fc.boolean())),
        fc.dictionary(fc.constantFrom(...PROCESS_ATTRIBUTE_KEYS), fc.boolean()),
        (metrics, attributes) => {
          const data = {
            metrics: Object.fromEntries(
              Object.entries(metrics).map(([name, enabled]) => [name, enabled === null ? null : { enabled }]),
            ),
            resource_attributes: Object.fromEntries(
              Object.entries(attributes).map(([name, enabled]) => [name, { enabled }]),
            ),
          };
          const { selection } = metricsConfigFrom(data);
          const defaults = receiverDefaults();
          for (const name of names) {
            const set = metrics[name];
            const expected = typeof set === 'boolean' ? set : defaults.metrics.has(name);
            assert.equal(selection.metrics.has(name), expected, name);
          }
          for (const key of PROCESS_ATTRIBUTE_KEYS) {
            assert.equal(selection.attributes.has(key), attributes[key] ?? defaults.attributes.has(key), key);
          }
        },
      ),
    );
  });

  it('accepts what the receiver accepts and does not emit, and says so', () => {
    const { selection, notes } = metricsConfigFrom({
      metrics: {
        'process.handles': { enabled: true },
        'process.thread.count@v1': { enabled: true },
        'process.cpu.time': { enabled: true, aggregation_strategy: 'sum', attributes: ['state'] },
      },
      resource_attributes: { 'process.pid': { enabled: true, metrics_include: [{ regexp: '.*' }] } },
    });
    assert.deepEqual(sorted(selection.metrics), sorted(receiverDefaults().metrics));
    assert.deepEqual(notes, [
      '(root).metrics.process.handles: enabled but not emitted (Windows only; the receiver disables it on Linux)',
      '(root).metrics.process.thread.count@v1: enabled but not emitted (needs the feature gate scraper.process.EmitV1SystemConventions)',
      '(root).metrics.process.cpu.time.aggregation_strategy: not applied by the simulator',
      '(root).metrics.process.cpu.time.attributes: not applied by the simulator',
      '(root).resource_attributes.process.pid.metrics_include: not applied by the simulator',
    ]);
  });

  it('refuses what the receiver refuses, naming each field', () => {
    const refused = (data: unknown) => {
      try {
        metricsConfigFrom(data);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    assert.match(
      refused({ metrics: { 'process.cpu.tim': { enabled: true } } }),
      /metrics\.process\.cpu\.tim: not a metric of the hostmetrics process scraper/,
    );
    assert.match(
      refused({ metrics: { 'process.threads': { enabled: 'yes' } } }),
      /process\.threads\.enabled: expected true or false .*\(got "yes"\)/,
    );
    assert.match(
      refused({ metrics: { 'process.threads': { enable: true } } }),
      /process\.threads\.enable: unknown field/,
    );
    assert.match(
      refused({ metrics: { 'process.threads': true } }),
      /process\.threads: expected \{enabled: true\|false\}/,
    );
    assert.match(
      refused({ resource_attributes: { 'host.name': { enabled: true } } }),
      /resource_attributes\.host\.name: not a resource attribute/,
    );
    assert.match(
      refused({ receivers: { otlp: {} } }),
      /receivers: no host_metrics \(or hostmetrics\) receiver with a process scraper/,
    );
    assert.match(
      refused({
        receivers: {
          'hostmetrics/a': { scrapers: { process: {} } },
          host_metrics: { scrapers: { process: null } },
        },
      }),
      /2 host_metrics receivers with a process scraper \("hostmetrics\/a", "host_metrics"\)/,
    );
    assert.match(refused([1]), /\(root\): expected a collector configuration/);
    assert.match(refused({ metrics: [] }), /metrics: expected a map/);
  });

  it('refuses an unreadable file, and OPTIONAL_METRICS beside it, through the environment', () => {
    assert.throws(
      () => loadConfig({ METRICS_CONFIG: join(dir, 'missing.yaml') }),
      /METRICS_CONFIG: metrics config .*missing\.yaml cannot be opened \(ENOENT\)/,
    );
    assert.throws(
      () => loadConfig({ METRICS_CONFIG: file('dup.yaml', 'metrics: {}\nmetrics: {}\n') }),
      /gives the key "metrics" twice at line 2/,
    );
    assert.throws(
      () => loadConfig({ METRICS_CONFIG: HOSTMETRICS_YAML, OPTIONAL_METRICS: 'true' }),
      /OPTIONAL_METRICS: expected false or unset beside METRICS_CONFIG/,
    );
    const config = loadConfig({ METRICS_CONFIG: HOSTMETRICS_YAML });
    assert.deepEqual(
      sorted(config.metricSelection.metrics),
      sorted(loadMetricsConfig(HOSTMETRICS_YAML).selection.metrics),
    );
  });

  it('OPTIONAL_METRICS turns every optional metric on; without either the defaults hold', () => {
    const optional = PROCESS_METRICS.filter((m) => m.optional).map((m) => m.name);
    assert.ok(optional.includes('process.cpu.utilization') && optional.includes('process.disk.operations'));
    const on = loadConfig({ OPTIONAL_METRICS: 'true' }).metricSelection;
    assert.deepEqual(sorted(on.metrics), PROCESS_METRICS.map((m) => m.name).sort());
    const off = loadConfig({}).metricSelection;
    assert.deepEqual(
      sorted(off.metrics),
      PROCESS_METRICS.filter((m) => !m.optional)
        .map((m) => m.name)
        .sort(),
    );
    assert.equal(off.attributes.has('process.cgroup'), false);
    assert.deepEqual(seriesPerProcess(off), seriesPerProcess(false));
    assert.equal(seriesPerProcess(on)['process.cpu.utilization'], 3);
  });
});
