/**
 * The bundled collector accepts both shipped configs and really runs the OTLP -> Prometheus pipeline
 * on moved ports, turning the simulator's per-process data-point attributes into labels.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import {
  collectorBinary,
  HOSTMETRICS_CONFIG,
  PIPELINE_CONFIG,
  startCollector,
} from '../helpers/collector.ts';
import { isAlive } from '../helpers/proc.ts';
import { waitFor } from '../helpers/wait.ts';

function validate(file: string): { status: number | null; output: string } {
  const result = spawnSync(collectorBinary(), ['validate', '--config', file], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** One OTLP/HTTP JSON request shaped like the simulator's: one Resource, process identity on data points. */
function simulatorLikePayload(pid: number, name: string): string {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: string | number) => ({
    key,
    value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value },
  });
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [attr('service.name', 'process-simulator')] },
        scopeMetrics: [
          {
            scope: { name: 'process-simulator' },
            metrics: [
              {
                name: 'process.memory.usage',
                unit: 'By',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: false,
                  dataPoints: [
                    {
                      asInt: '1048576',
                      startTimeUnixNano: String(nowNs - 60_000_000_000n),
                      timeUnixNano: String(nowNs),
                      attributes: [
                        attr('process.pid', pid),
                        attr('process.executable.name', name),
                        attr('simulator.priority', 'high'),
                      ],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('bundled collector configs', () => {
  test('config.yaml passes the collector’s own validation', () => {
    const { status, output } = validate(PIPELINE_CONFIG);
    assert.equal(status, 0, output);
  });

  test('hostmetrics.yaml passes the collector’s own validation', () => {
    const { status, output } = validate(HOSTMETRICS_CONFIG);
    assert.equal(status, 0, output);
  });

  test('runs on loopback with ports moved by env, serves /metrics, labels processes and stops cleanly', async () => {
    const collector = await startCollector();
    after(() => collector.stop());
    const { ports, metricsUrl, child } = collector;

    assert.equal((await fetch(metricsUrl)).status, 200);
    const telemetry = await fetch(`http://127.0.0.1:${ports.COLLECTOR_TELEMETRY_PORT}/metrics`);
    assert.equal(telemetry.status, 200);
    assert.match(await telemetry.text(), /otelcol_process_uptime/);

    const push = await fetch(`http://127.0.0.1:${ports.OTLP_HTTP_PORT}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: simulatorLikePayload(4242, 'nginx-worker'),
    });
    assert.equal(push.status, 200, await push.text());

    // The batch processor holds data up to its timeout before the exporter sees it.
    const line = await waitFor(
      'the pushed series on /metrics',
      { timeoutMs: 15_000, everyMs: 100 },
      async () =>
        (await (await fetch(metricsUrl)).text())
          .split('\n')
          .find((l) => l.startsWith('process_memory_usage_bytes{')),
    );
    assert.match(line, /process_pid="4242"/);
    assert.match(line, /process_executable_name="nginx-worker"/);
    assert.match(line, /simulator_priority="high"/);
    assert.equal(Number(line.slice(line.lastIndexOf(' ') + 1)), 1_048_576);

    await collector.stop();
    assert.equal(isAlive(child.pid), false, `collector ${child.pid} still running`);
    assert.match(child.log(), /Shutdown complete/);
  });
});
