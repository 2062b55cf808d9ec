import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';

test('defaults describe the realistic profile on the documented ports', () => {
  const config = loadConfig({});
  assert.equal(config.profile, 'realistic');
  assert.equal(config.metricsPort, 8888);
  assert.equal(config.controlPort, 8090);
  assert.equal(config.otlp.endpoint, 'http://localhost:4317');
  assert.equal(config.exportIntervalMs, 10_000);
  assert.equal(config.autoStart, true);
  assert.equal(config.controlHost, '127.0.0.1', 'the API binds to loopback by default');
  assert.equal(config.otlp.processAttributes, 'resource', "one Resource per process, the receiver's shape");
});

test('OTLP_PROCESS_ATTRIBUTES takes resource or datapoint and refuses anything else', () => {
  assert.equal(loadConfig({ OTLP_PROCESS_ATTRIBUTES: 'datapoint' }).otlp.processAttributes, 'datapoint');
  assert.equal(loadConfig({ OTLP_PROCESS_ATTRIBUTES: 'resource' }).otlp.processAttributes, 'resource');
  assert.throws(
    () => loadConfig({ OTLP_PROCESS_ATTRIBUTES: 'Resource-Attributes' }),
    /OTLP_PROCESS_ATTRIBUTES: expected "resource" or "datapoint" \(got "Resource-Attributes"\)/,
  );
});

test('reads every documented variable', () => {
  const config = loadConfig({
    PROFILE: 'chaos',
    PROCESS_COUNT: '200',
    DURATION: '10m',
    SEED: '42',
    AUTO_START: 'false',
    ENABLE_CHAOS: 'true',
    METRICS_PORT: '9999',
    CONTROL_PORT: '9090',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317',
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc,x-tenant=t1',
    OTEL_METRIC_EXPORT_INTERVAL: '5000',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=obs',
    SIMULATION_ATTRIBUTES: 'false',
  });
  assert.equal(config.processCount, 200);
  assert.equal(config.durationMs, 600_000);
  assert.equal(config.seed, 42);
  assert.equal(config.autoStart, false);
  assert.equal(config.enableChaos, true);
  assert.equal(config.otlp.endpoint, 'http://collector:4317', 'a bare host:port is plain text');
  assert.deepEqual(config.otlp.headers, { authorization: 'Bearer abc', 'x-tenant': 't1' });
  assert.deepEqual(config.resourceAttributes, { 'deployment.environment': 'test', team: 'obs' });
  assert.equal(config.simulationAttributes, false);
});

test('bad values are refused with the variable, the value and what was expected, all at once', () => {
  assert.throws(
    () => loadConfig({ PROCESS_COUNT: 'many', METRICS_PORT: '70000', DURATION: '-5m', AUTO_START: 'maybe' }),
    (error: Error) =>
      /PROCESS_COUNT: expected an integer from 0 to 100000 \(got "many"\)/.test(error.message) &&
      /METRICS_PORT: expected an integer from 0 to 65535 \(got "70000"\)/.test(error.message) &&
      /DURATION:.*\(got "-5m"\)/.test(error.message) &&
      /AUTO_START: expected true or false \(got "maybe"\)/.test(error.message),
  );
  assert.throws(
    () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x:1' }),
    /OTEL_EXPORTER_OTLP_ENDPOINT/,
  );
});
