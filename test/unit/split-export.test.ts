import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { splitResourceMetrics } from '../../src/telemetry/split-export.ts';

/** 10,000 processes x 9 points with the attributes the simulator really sends. */
function fleet(processes: number): ResourceMetrics {
  const metric = (name: string, states: string[]) => ({
    descriptor: { name, description: 'd', unit: 'By', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM as const,
    isMonotonic: true,
    dataPoints: Array.from({ length: processes }, (_, i) =>
      states.map((state) => ({
        startTime: [1_700_000_000, 0] as [number, number],
        endTime: [1_700_000_100, 0] as [number, number],
        attributes: {
          'process.pid': 10_000 + i,
          'process.parent_pid': 999,
          'process.executable.name': `worker-${i}`,
          'process.executable.path': `/tmp/process-simulator-999-1/bin/worker-${i}`,
          'process.command': `worker-${i}`,
          'process.command_line': `worker-${i} --serve --port 80${i % 100}`,
          'process.owner': 'simulator',
          'simulator.priority': 'medium',
          'simulator.profile': 'high-cardinality',
          'simulator.simulation_id': '30502627-f679-4477-9ef7-1a590d104f57',
          'simulator.cpu_pattern': 'steady',
          'simulator.memory_pattern': 'steady',
          ...(state ? { state } : {}),
        },
        value: 123456,
      })),
    ).flat(),
  });
  return {
    resource: resourceFromAttributes({ 'service.name': 'process-simulator' }),
    scopeMetrics: [
      {
        scope: { name: 'process-simulator', version: '0.1.0' },
        metrics: [
          metric('process.cpu.time', ['user', 'system', 'wait']),
          metric('process.memory.usage', ['']),
          metric('process.memory.virtual', ['']),
          metric('process.disk.io', ['read', 'write']),
          metric('process.threads', ['']),
          metric('process.open_file_descriptors', ['']),
        ],
      },
    ],
  };
}

test('10,000 processes are split into OTLP requests that each stay under 4 MiB, losing no point', () => {
  const whole = fleet(10_000);
  const total = whole.scopeMetrics[0]?.metrics.reduce((sum, m) => sum + m.dataPoints.length, 0);
  assert.equal(total, 90_000);
  const wholeBytes = ProtobufMetricsSerializer.serializeRequest(whole)?.byteLength ?? 0;
  assert.ok(wholeBytes > 4 * 1024 * 1024, `unsplit it would be ${wholeBytes} bytes`);
  const chunks = splitResourceMetrics(whole);
  let points = 0;
  for (const chunk of chunks) {
    const bytes = ProtobufMetricsSerializer.serializeRequest(chunk)?.byteLength ?? 0;
    assert.ok(bytes < 4 * 1024 * 1024, `a request of ${bytes} bytes`);
    for (const scope of chunk.scopeMetrics)
      for (const metric of scope.metrics) points += metric.dataPoints.length;
  }
  assert.equal(points, 90_000);
  assert.ok(chunks.length >= Math.ceil(wholeBytes / (4 * 1024 * 1024)));
});

test('a small collection stays one request with its metric order', () => {
  const chunks = splitResourceMetrics(fleet(10));
  assert.equal(chunks.length, 1);
  assert.deepEqual(
    chunks[0]?.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name),
    [
      'process.cpu.time',
      'process.memory.usage',
      'process.memory.virtual',
      'process.disk.io',
      'process.threads',
      'process.open_file_descriptors',
    ],
  );
});
