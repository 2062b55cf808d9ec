/**
 * The README is part of the interface: the variables, scripts and metric names it documents must be
 * the ones the code has.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENV_VARS } from '../../src/config/defaults.ts';
import { PROCESS_METRICS } from '../../src/telemetry/process-metrics.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const scripts = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  .scripts as Record<string, string>;

test('every environment variable the simulator reads is documented', () => {
  const missing = Object.keys(ENV_VARS).filter((name) => !readme.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});

test('every npm script the README tells users to run exists', () => {
  const used = [...readme.matchAll(/npm (?:run ([\w:-]+)|(start|test))/g)].map((m) => m[1] ?? m[2]);
  assert.ok(used.includes('start') && used.includes('test'));
  for (const name of used) assert.ok(name && scripts[name], `npm script ${name}`);
});

test('the metric table lists every process metric with its OTLP and Prometheus names', () => {
  for (const metric of PROCESS_METRICS) {
    assert.ok(readme.includes(`\`${metric.name}\``), metric.name);
    const promName = metric.shape === 'counter' ? `${metric.prometheusName}_total` : metric.prometheusName;
    assert.ok(readme.includes(`\`${promName}`), promName);
  }
});
