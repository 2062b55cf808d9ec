/**
 * The OTLP sink's receiver over real sockets: the simulator's own OTLP/gRPC exporter (the OpenTelemetry
 * JS SDK) delivers to it and a verification through the sink passes; OTLP/HTTP protobuf requests, plain
 * and gzip, are decoded; whatever is too large (declared, streamed or inflated), of the wrong type, on
 * the wrong path or not protobuf is refused at the door with the status OTLP/HTTP exporters expect; a
 * gRPC request over the limit is refused with RESOURCE_EXHAUSTED.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Report } from '../../src/verify/report.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../../src/verify/sources/otlp-receiver.ts';
import type { ExportMetricsServiceRequest } from '../../src/verify/sources/otlp-types.ts';
import { call } from '../e2e/api-helpers.ts';
import { freePort } from '../helpers/ports.ts';
import { runProfile, startTestSimulator } from '../helpers/simulator.ts';

const LIMIT = 64 * 1024;

/** A real OTLP request from the SDK's own encoder: `points` points of process.threads. */
function encoded(points: number): Uint8Array {
  const metrics: ResourceMetrics = {
    resource: emptyResource(),
    scopeMetrics: [
      {
        scope: { name: 'test' },
        metrics: [
          {
            descriptor: { name: 'process.threads', description: '', unit: '{threads}', valueType: 0 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: false,
            dataPoints: Array.from({ length: points }, (_, i) => ({
              startTime: [1_700_000_000, 0] as [number, number],
              endTime: [1_700_000_010, 5_000_000] as [number, number],
              attributes: { 'process.pid': 100 + i, 'process.executable.name': `p${i}` },
              value: 3,
            })),
          },
        ],
      },
    ],
  };
  return ProtobufMetricsSerializer.serializeRequest(metrics) as Uint8Array;
}

function post(
  port: number,
  body: Uint8Array | string,
  headers: Record<string, string>,
  path = '/v1/metrics',
  method = 'POST',
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    // A refusal may close the connection while the body is still being written: the answer counts.
    req.on('response', () => req.on('error', () => {}));
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end(body);
  });
}

describe('the OTLP sink receiver', () => {
  let receiver: OtlpReceiver;
  const received: Array<{ request: ExportMetricsServiceRequest; transport: string }> = [];

  before(async () => {
    receiver = await startOtlpReceiver({
      grpcPort: 0,
      httpPort: 0,
      maxMessageBytes: LIMIT,
      onRequest: (request, transport) => received.push({ request, transport }),
    });
  });
  after(async () => {
    await receiver?.close();
  });

  test('the simulator’s own OTLP exporter delivers to its sink, and a verification through it passes', async () => {
    const sinkPort = await freePort();
    const { sim } = await startTestSimulator({
      AUTO_START: 'false',
      OTLP_SINK_GRPC_PORT: String(sinkPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    });
    try {
      const simulation = await runProfile(sim, {
        name: 'sink-self',
        templates: [
          { name: 'self-a', count: 2, priority: 'high', memory: 2 },
          { name: 'self-b-{i}', count: 2, priority: 'low', cpu: 2, threads: 2 },
        ],
      });
      const answer = await call<Report>(sim.api.url, 'POST', `/api/v1/simulations/${simulation.id}/verify`, {
        source: { type: 'otlp-sink' },
        expectations: { max_delay: '5s' },
        wait: '30s',
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.body.verdict, 'pass', JSON.stringify(answer.body.checks.filter((c) => !c.passed)));
      assert.deepEqual(answer.body.matching.methods, { pid: 4 });
    } finally {
      await sim.stop();
    }
  });

  test('OTLP/HTTP protobuf, plain and gzip, is decoded like gRPC', async () => {
    received.length = 0;
    const body = encoded(5);
    assert.equal(
      (await post(receiver.httpPort as number, body, { 'content-type': 'application/x-protobuf' })).status,
      200,
    );
    const zipped = await post(receiver.httpPort as number, gzipSync(body), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    assert.equal(zipped.status, 200);
    assert.equal(received.length, 2);
    for (const { request, transport } of received) {
      assert.equal(transport, 'http');
      const points = request.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.sum?.dataPoints ?? [];
      assert.equal(points.length, 5);
      assert.equal(points[0]?.asInt, '3');
      assert.equal(points[0]?.timeUnixNano, '1700000010005000000', 'nanoseconds exact, as a string');
    }
  });

  test('HTTP: too large (declared, streamed or inflated), wrong type, path, method or body: refused', async () => {
    const port = receiver.httpPort as number;
    const proto = { 'content-type': 'application/x-protobuf' };
    const big = Buffer.alloc(LIMIT + 1, 1);
    assert.equal((await post(port, big, proto)).status, 413, 'declared length over the limit');
    assert.equal(
      (await post(port, big, { ...proto, 'transfer-encoding': 'chunked' })).status,
      413,
      'streamed',
    );
    const bomb = gzipSync(Buffer.alloc(50 * LIMIT));
    assert.ok(bomb.length < LIMIT);
    assert.equal((await post(port, bomb, { ...proto, 'content-encoding': 'gzip' })).status, 413, 'inflated');
    assert.equal((await post(port, '{}', { 'content-type': 'application/json' })).status, 415);
    assert.equal((await post(port, encoded(1), { ...proto, 'content-encoding': 'br' })).status, 415);
    assert.equal((await post(port, 'garbage\xff\xff\xff', proto)).status, 400);
    assert.equal((await post(port, encoded(1), proto, '/v1/traces')).status, 404);
    assert.equal((await post(port, '', proto, '/v1/metrics', 'GET')).status, 405);
  });

  test('gRPC: a request over the limit is refused with RESOURCE_EXHAUSTED', async () => {
    const Client = grpc.makeGenericClientConstructor(
      {
        Export: {
          path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (bytes: Buffer) => bytes,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (bytes: Buffer) => bytes,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      'MetricsService',
    );
    const client = new Client(`127.0.0.1:${receiver.grpcPort}`, grpc.credentials.createInsecure());
    const send = (bytes: Uint8Array) =>
      new Promise<grpc.ServiceError | null>((resolve) =>
        (
          client as unknown as { Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void }
        ).Export(Buffer.from(bytes), (error) => resolve(error)),
      );
    try {
      assert.equal(await send(encoded(3)), null);
      const error = await send(encoded(2000));
      assert.ok(encoded(2000).length > LIMIT);
      assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED, String(error));
    } finally {
      client.close();
    }
  });
});
