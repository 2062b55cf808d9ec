/**
 * The bundled collector accepts both shipped configs and really runs the OTLP -> Prometheus pipeline
 * on moved ports, turning the simulator's per-process attributes into labels, on the Resource (the
 * default shape) or on the data points.
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

/**
 * One OTLP/HTTP JSON request shaped like the simulator's: `resource`, one Resource per process carrying
 * its identity (the default, the receiver's shape); `datapoint`, one Resource and the process identity
 * on the data points.
 */
function simulatorLikePayload(pid: number, name: string, shape: 'resource' | 'datapoint'): string {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: string | number) => ({
    key,
    value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value },
  });
  const processAttributes = [
    attr('process.pid', pid),
    attr('process.executable.name', name),
    attr('simulator.priority', 'high'),
  ];
  const service = [attr('service.name', 'process-simulator'), attr('service.instance.id', 'sim-1')];
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: shape === 'resource' ? [...service, ...processAttributes] : service },
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
                      attributes: shape === 'resource' ? [] : processAttributes,
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

    for (const [pid, shape] of [
      [4242, 'datapoint'],
      [4343, 'resource'],
    ] as const) {
      const push = await fetch(`http://127.0.0.1:${ports.OTLP_HTTP_PORT}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: simulatorLikePayload(pid, 'nginx-worker', shape),
      });
      assert.equal(push.status, 200, await push.text());
    }

    // The batch processor holds data up to its timeout before the exporter sees it.
    const lines = await waitFor(
      'both pushed series on /metrics',
      { timeoutMs: 15_000, everyMs: 100 },
      async () => {
        const found = (await (await fetch(metricsUrl)).text())
          .split('\n')
          .filter((l) => l.startsWith('process_memory_usage_bytes{'));
        return found.length >= 2 ? found : undefined;
      },
    );
    const labelsOf = (line: string) =>
      Object.fromEntries(
        [...line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map(
          (m) => [m[1], m[2]],
        ),
      );
    const [datapoint, resource] = [4242, 4343].map((pid) => {
      const line = lines.find((l) => l.includes(`process_pid="${pid}"`));
      assert.ok(line, `the series of ${pid} in ${lines.join('\n')}`);
      assert.equal(Number(line.slice(line.lastIndexOf(' ') + 1)), 1_048_576);
      return labelsOf(line);
    });
    // Both shapes give the same labels: the process and simulation attributes, job and instance.
    assert.deepEqual(datapoint, {
      job: 'process-simulator',
      instance: 'sim-1',
      process_pid: '4242',
      process_executable_name: 'nginx-worker',
      simulator_priority: 'high',
    });
    assert.deepEqual(resource, { ...datapoint, process_pid: '4343' });

    await collector.stop();
    assert.equal(isAlive(child.pid), false, `collector ${child.pid} still running`);
    assert.match(child.log(), /Shutdown complete/);
  });
});
