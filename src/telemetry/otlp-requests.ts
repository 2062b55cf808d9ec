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
import { emptyResource, type Resource } from '@opentelemetry/resources';
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

function serialize(resourceMetrics: ResourceMetrics): Uint8Array {
  return ProtobufMetricsSerializer.serializeRequest(resourceMetrics) ?? new Uint8Array(0);
}

/**
 * The encoded `resource` field (1) of a ResourceMetrics, per Resource object. A process's Resource is
 * built once and kept while it lives (process-producer.ts), so its ~15 attributes are encoded once
 * instead of twice per export (the package's serializer sizes, then writes): measured at 10,000
 * processes, the Resource was 40 % of an export's encoding CPU.
 */
const resourceFields = new WeakMap<Resource, Uint8Array>();
const EMPTY_RESOURCE = emptyResource();

function resourceFieldOf(resource: Resource): Uint8Array {
  let field = resourceFields.get(resource);
  if (field === undefined) {
    const request = serialize({ resource, scopeMetrics: [] });
    field = fieldsOf(request, 1).inner.find((f) => f.number === 1)?.bytes ?? new Uint8Array(0);
    resourceFields.set(resource, field);
  }
  return field;
}

/**
 * One ExportMetricsServiceRequest of one ResourceMetrics: the package's serializer encodes it with an
 * empty Resource, then the cached resource field takes the place of the empty one. Protobuf fields may
 * come in any order, so the result decodes as the serializer's own output would (a test decodes both).
 * A Resource with a schema URL is left to the serializer whole (it writes the URL from the Resource).
 */
function encode(resourceMetrics: ResourceMetrics): Uint8Array {
  const { resource } = resourceMetrics;
  if (resource.schemaUrl) return serialize(resourceMetrics);
  const request = serialize({ resource: EMPTY_RESOURCE, scopeMetrics: resourceMetrics.scopeMetrics });
  const { inner } = fieldsOf(request, 1);
  const field = resourceFieldOf(resource);
  const kept = inner.filter((f) => f.number !== 1);
  let length = field.byteLength;
  for (const f of kept) length += f.bytes.byteLength;
  const out = new Uint8Array(1 + varintSize(length) + length);
  out[0] = 0x0a; // field 1 (resource_metrics), wire type 2
  let at = writeVarint(out, 1, length);
  out.set(field, at);
  at += field.byteLength;
  for (const f of kept) {
    out.set(f.bytes, at);
    at += f.bytes.byteLength;
  }
  return out;
}

interface Field {
  number: number;
  /** the whole field: tag, length and content */
  bytes: Uint8Array;
}

/**
 * The fields inside the one length-delimited field `number` of `message` (a request holding one
 * ResourceMetrics). Only what the serializer writes is expected: length-delimited fields.
 */
function fieldsOf(message: Uint8Array, number: number): { inner: Field[] } {
  let at = 0;
  const [tag, afterTag] = readVarint(message, at);
  if (tag !== ((number << 3) | 2)) throw new Error(`unexpected field tag ${tag} in an encoded request`);
  const [length, start] = readVarint(message, afterTag);
  const end = start + length;
  if (end !== message.byteLength) throw new Error('an encoded request holds more than one ResourceMetrics');
  const inner: Field[] = [];
  at = start;
  while (at < end) {
    const [innerTag, afterInnerTag] = readVarint(message, at);
    if ((innerTag & 7) !== 2) throw new Error(`unexpected wire type in ResourceMetrics: tag ${innerTag}`);
    const [innerLength, content] = readVarint(message, afterInnerTag);
    inner.push({ number: innerTag >>> 3, bytes: message.subarray(at, content + innerLength) });
    at = content + innerLength;
  }
  return { inner };
}

function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined || shift > 28) throw new Error('a malformed varint in an encoded request');
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
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
