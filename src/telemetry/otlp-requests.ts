/**
 * Turns a collection into encoded OTLP requests that each stay under a size budget. The collector's
 * OTLP receiver refuses gRPC messages over 4 MiB by default (after decompression, so gzip does not
 * help), and 10,000 processes make ~90,000 data points, ~25 MB.
 *
 * Each ResourceMetrics is encoded on its own by the OpenTelemetry package's serializer into an
 * ExportMetricsServiceRequest (see otlp-grpc-exporter.ts for why the concatenation of such requests is
 * one request), so its size is exact and a request is filled with whole Resources: one process is never
 * split across requests unless it alone exceeds the budget.
 */
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { splitResourceMetrics } from './split-export.ts';

/** One request, encoded (the resource shape). */
export interface EncodedRequest {
  readonly kind: 'encoded';
  /** encoded ExportMetricsServiceRequests of one ResourceMetrics each; the body is their concatenation */
  readonly parts: readonly Uint8Array[];
  /** size of the body */
  readonly bytes: number;
  readonly resources: number;
  readonly dataPoints: number;
}

/** One request as the SDK's exporter takes it, one ResourceMetrics (the datapoint shape). */
export interface CollectedRequest {
  readonly kind: 'collected';
  readonly resourceMetrics: ResourceMetrics;
  readonly resources: 1;
  readonly dataPoints: number;
}

export type OtlpRequest = EncodedRequest | CollectedRequest;

/** Default size budget per request: half the collector's 4 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 2 * 1024 * 1024;

function countPoints(resourceMetrics: ResourceMetrics): number {
  let points = 0;
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics) points += metric.dataPoints.length;
  return points;
}

function encode(resourceMetrics: ResourceMetrics): Uint8Array {
  return ProtobufMetricsSerializer.serializeRequest(resourceMetrics) ?? new Uint8Array(0);
}

/**
 * Requests of whole ResourceMetrics, in order, each at most `maxBytes` encoded. A ResourceMetrics
 * larger than the budget on its own is split by data points (splitResourceMetrics) into requests of
 * its own. ResourceMetrics without scope metrics are left out.
 */
export function packResourceMetrics(
  resources: Iterable<ResourceMetrics>,
  maxBytes = DEFAULT_MAX_REQUEST_BYTES,
): EncodedRequest[] {
  const requests: EncodedRequest[] = [];
  let parts: Uint8Array[] = [];
  let bytes = 0;
  let count = 0;
  let dataPoints = 0;
  const flush = () => {
    if (parts.length > 0) requests.push({ kind: 'encoded', parts, bytes, resources: count, dataPoints });
    parts = [];
    bytes = 0;
    count = 0;
    dataPoints = 0;
  };
  for (const resourceMetrics of resources) {
    if (resourceMetrics.scopeMetrics.length === 0) continue;
    const part = encode(resourceMetrics);
    if (part.byteLength > maxBytes) {
      flush();
      for (const piece of splitResourceMetrics(resourceMetrics, maxBytes / 2)) {
        const encoded = encode(piece);
        requests.push({
          kind: 'encoded',
          parts: [encoded],
          bytes: encoded.byteLength,
          resources: 1,
          dataPoints: countPoints(piece),
        });
      }
      continue;
    }
    if (bytes + part.byteLength > maxBytes) flush();
    parts.push(part);
    bytes += part.byteLength;
    count++;
    dataPoints += countPoints(resourceMetrics);
  }
  flush();
  return requests;
}

/**
 * The requests of one ResourceMetrics whose data points carry the process attributes (the datapoint
 * shape): split by data points, as splitResourceMetrics estimates them, each left to the SDK's exporter
 * to encode.
 */
export function splitIntoRequests(
  resourceMetrics: ResourceMetrics,
  maxBytes = DEFAULT_MAX_REQUEST_BYTES,
): CollectedRequest[] {
  return splitResourceMetrics(resourceMetrics, maxBytes).map((chunk) => ({
    kind: 'collected',
    resourceMetrics: chunk,
    resources: 1,
    dataPoints: countPoints(chunk),
  }));
}
