/**
 * A real OTLP/gRPC metrics receiver on loopback for tests: decodes every Export request with the OTLP
 * protobuf definitions and keeps it, with its size on the wire.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_ROOT = fileURLToPath(new URL('../fixtures/otlp/', import.meta.url));

export interface KeyValue {
  key: string;
  value: { string_value?: string; int_value?: number; double_value?: number; bool_value?: boolean };
}
export interface NumberDataPoint {
  attributes: KeyValue[];
  start_time_unix_nano: number;
  time_unix_nano: number;
  as_int?: number;
  as_double?: number;
  value?: 'as_int' | 'as_double';
}
export interface Metric {
  name: string;
  description: string;
  unit: string;
  data?: 'sum' | 'gauge' | 'histogram';
  sum?: { data_points: NumberDataPoint[]; aggregation_temporality: string; is_monotonic: boolean };
  gauge?: { data_points: NumberDataPoint[] };
}
export interface ExportRequest {
  resource_metrics: Array<{
    resource: { attributes: KeyValue[] };
    scope_metrics: Array<{ scope: { name: string; version: string }; metrics: Metric[] }>;
  }>;
}

export interface ReceivedRequest {
  /** size on the wire */
  bytes: number;
  receivedAtMs: number;
  request: ExportRequest;
  /** the call's gRPC metadata (headers), keys lower-case */
  metadata: Record<string, string>;
}

export interface OtlpSink {
  readonly endpoint: string;
  readonly port: number;
  /** the last `keep` requests received */
  readonly requests: ReceivedRequest[];
  /** answers UNAVAILABLE while true */
  failing: boolean;
  /** takes each call and never answers it while true: a collector that accepts and hangs */
  hanging: boolean;
  /** calls received and never answered (while `hanging`) */
  readonly hung: number;
  /** calls answered UNAVAILABLE (while `failing`, or after `refuseAfter`'s count) */
  readonly refused: number;
  /**
   * Accepts the next `accepted` requests, then answers UNAVAILABLE to every one after them until
   * `answerAll()`: a collector that fails partway through an export of several requests.
   */
  refuseAfter(accepted: number): void;
  /** undoes `refuseAfter` */
  answerAll(): void;
  /** calls `listener` with every request as it arrives (before the answer); returns the unsubscribe */
  onRequest(listener: (entry: ReceivedRequest) => void): () => void;
  /** resolves with the first request received after now that satisfies `predicate` */
  waitFor(predicate: (request: ExportRequest) => boolean, timeoutMs?: number): Promise<ExportRequest>;
  close(): Promise<void>;
}

/** The MetricsService of the official OTLP protos. */
function metricsService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  // the loaded package is typed as a generic tree; this path is fixed by the .proto files
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: {
      proto: { collector: { metrics: { v1: { MetricsService: { service: grpc.ServiceDefinition } } } } };
    };
  };
  return root.opentelemetry.proto.collector.metrics.v1.MetricsService.service;
}

/** Decodes the body of an Export call with the official OTLP protos, as the sink does. */
export function decodeExportRequest(body: Uint8Array): ExportRequest {
  const export_ = metricsService().Export as grpc.MethodDefinition<ExportRequest, unknown>;
  return export_.requestDeserialize(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/** @param keep how many decoded requests to keep (the oldest are dropped) */
export async function startOtlpSink(options: { port?: number; keep?: number } = {}): Promise<OtlpSink> {
  const { port = 0, keep = 1000 } = options;
  const service = metricsService();
  const export_ = service.Export as grpc.MethodDefinition<ExportRequest, unknown>;
  const deserialize = export_.requestDeserialize;
  let lastBytes = 0;
  const requests: OtlpSink['requests'] = [];
  const waiters: Array<{
    predicate: (request: ExportRequest) => boolean;
    resolve: (request: ExportRequest) => void;
  }> = [];
  const listeners = new Set<(entry: ReceivedRequest) => void>();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  let acceptLeft: number | undefined;
  let hung = 0;
  let refused = 0;
  const sink = {
    failing: false,
    hanging: false,
  } as OtlpSink & { failing: boolean; hanging: boolean };
  server.addService(
    {
      Export: {
        ...export_,
        requestDeserialize: (buffer: Buffer) => {
          lastBytes = buffer.length;
          return deserialize(buffer);
        },
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<ExportRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (sink.hanging) {
          hung++;
          return;
        }
        if (sink.failing || acceptLeft === 0) {
          refused++;
          return callback({ code: grpc.status.UNAVAILABLE, details: 'sink is failing on purpose' });
        }
        if (acceptLeft !== undefined) acceptLeft--;
        const metadata: Record<string, string> = {};
        for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
        const entry = { bytes: lastBytes, receivedAtMs: Date.now(), request: call.request, metadata };
        requests.push(entry);
        if (requests.length > keep) requests.shift();
        for (const listener of [...listeners]) listener(entry);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(call.request)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(call.request);
          }
        }
        callback(null, {});
      },
    },
  );
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  // defined, not assigned: Object.assign would copy the count once
  Object.defineProperty(sink, 'hung', { get: () => hung, enumerable: true });
  Object.defineProperty(sink, 'refused', { get: () => refused, enumerable: true });
  return Object.assign(sink, {
    endpoint: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    requests,
    onRequest(listener: (entry: ReceivedRequest) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitFor(predicate: (request: ExportRequest) => boolean, timeoutMs = 20_000) {
      return new Promise<ExportRequest>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching OTLP request within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (request) => {
            clearTimeout(timer);
            resolve(request);
          },
        });
      });
    },
    refuseAfter(accepted: number) {
      acceptLeft = accepted;
    },
    answerAll() {
      acceptLeft = undefined;
    },
    // A hung call would hold a graceful shutdown forever.
    close: () =>
      new Promise<void>((resolve) => {
        if (hung > 0) {
          server.forceShutdown();
          resolve();
        } else server.tryShutdown(() => resolve());
      }),
  });
}

/** Every data point of `metricName` in a request, with its attributes as a plain object. */
export function pointsOf(
  request: ExportRequest,
  metricName: string,
): Array<{
  /** the Resource's attributes with the point's over them: the process's whatever the shape */
  attributes: Record<string, unknown>;
  /** the point's own attributes */
  pointAttributes: Record<string, unknown>;
  /** its Resource's attributes */
  resource: Record<string, unknown>;
  value: number;
  point: NumberDataPoint;
  metric: Metric;
}> {
  const result = [];
  for (const rm of request.resource_metrics) {
    const resource = attributesOf(rm.resource?.attributes ?? []);
    for (const sm of rm.scope_metrics) {
      for (const metric of sm.metrics) {
        if (metric.name !== metricName) continue;
        const points = metric.sum?.data_points ?? metric.gauge?.data_points ?? [];
        for (const point of points) {
          const pointAttributes = attributesOf(point.attributes);
          result.push({
            attributes: { ...resource, ...pointAttributes },
            pointAttributes,
            resource,
            value: (point.value === 'as_int' ? point.as_int : point.as_double) as number,
            point,
            metric,
          });
        }
      }
    }
  }
  return result;
}

/** KeyValues as an object of plain values. */
export function attributesOf(list: KeyValue[]): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const kv of list)
    attributes[kv.key] =
      kv.value.string_value ?? kv.value.int_value ?? kv.value.double_value ?? kv.value.bool_value;
  return attributes;
}
