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
  /**
   * The whole buffer the request's one part is a view of, when it came from a RequestBuffers: the
   * sender gives it back once the exporter is done with the request (retries included).
   */
  readonly buffer?: Buffer;
}

/** One request as the SDK's exporter takes it, one ResourceMetrics (the datapoint shape). */
export interface CollectedRequest {
  readonly kind: 'collected';
  readonly resourceMetrics: ResourceMetrics;
  readonly resources: 1;
  readonly dataPoints: number;
}

export type OtlpRequest = EncodedRequest | CollectedRequest;

/**
 * A ResourceMetrics that writes its own bytes (a process's, otlp-process-encoding.ts): sized and written
 * straight into the request, its data points never made as objects unless `scopeMetrics` is asked for.
 */
export interface SelfEncodedResourceMetrics extends ResourceMetrics {
  /** false when it must be encoded by the package's serializer after all (a Resource with a schema URL) */
  readonly selfEncodes: boolean;
  readonly dataPointCount: number;
  /** every byte of its `resource_metrics` field in a request: tag, length and content */
  encodedSize(): number;
  /** writes them into `out` at `at`; returns the position after them */
  writeTo(out: Buffer, at: number): number;
}

function selfEncoded(resourceMetrics: ResourceMetrics): resourceMetrics is SelfEncodedResourceMetrics {
  return (resourceMetrics as Partial<SelfEncodedResourceMetrics>).selfEncodes === true;
}

/** Default size budget per request: half the collector's 4 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 2 * 1024 * 1024;

function countPoints(resourceMetrics: ResourceMetrics): number {
  if (selfEncoded(resourceMetrics)) return resourceMetrics.dataPointCount;
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

export function resourceFieldOf(resource: Resource): Uint8Array {
  let field = resourceFields.get(resource);
  if (field === undefined) {
    const request = serialize({ resource, scopeMetrics: [] });
    const span = resourceSpan(request);
    field = request.slice(span.fieldStart, span.fieldEnd);
    resourceFields.set(resource, field);
  }
  return field;
}

/**
 * One ExportMetricsServiceRequest of one ResourceMetrics: the package's serializer encodes it with an
 * empty Resource, then the cached resource field takes the place of the empty one. Protobuf fields may
 * come in any order, so the result decodes as the serializer's own output would (a test decodes both).
 * A Resource with a schema URL is left to the serializer whole (it writes the URL from the Resource).
 * Positions only, no objects per process: this runs 10,000 times an export. `prepare` says how many
 * bytes it takes, `writePrepared` writes them where the caller wants (into its request's buffer).
 */
interface Prepared {
  /** the serializer's output */
  request: Uint8Array;
  /** the cached resource field, or undefined when `request` is written whole */
  field: Uint8Array | undefined;
  contentStart: number;
  fieldStart: number;
  fieldEnd: number;
  /** the ResourceMetrics's content length (after the tag and its varint) */
  length: number;
  /** every byte it takes */
  size: number;
}

const prepared: Prepared = {
  request: new Uint8Array(0),
  field: undefined,
  contentStart: 0,
  fieldStart: 0,
  fieldEnd: 0,
  length: 0,
  size: 0,
};

/** Encodes `resourceMetrics` up to its final bytes; valid until the next call. Returns the size. */
function prepare(resourceMetrics: ResourceMetrics): number {
  const { resource } = resourceMetrics;
  if (resource.schemaUrl) {
    prepared.request = serialize(resourceMetrics);
    prepared.field = undefined;
    prepared.size = prepared.request.byteLength;
    return prepared.size;
  }
  const request = serialize({ resource: EMPTY_RESOURCE, scopeMetrics: resourceMetrics.scopeMetrics });
  const { contentStart, fieldStart, fieldEnd } = resourceSpan(request);
  const field = resourceFieldOf(resource);
  const length = field.byteLength + (request.byteLength - contentStart) - (fieldEnd - fieldStart);
  prepared.request = request;
  prepared.field = field;
  prepared.contentStart = contentStart;
  prepared.fieldStart = fieldStart;
  prepared.fieldEnd = fieldEnd;
  prepared.length = length;
  prepared.size = 1 + varintSize(length) + length;
  return prepared.size;
}

/** The last prepared ResourceMetrics into `out` at `at`; returns the position after it. */
function writePrepared(out: Buffer, at: number): number {
  const { request, field } = prepared;
  const source = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
  if (field === undefined) return at + source.copy(out, at);
  out[at] = 0x0a; // field 1 (resource_metrics), wire type 2
  at = writeVarint(out, at + 1, prepared.length);
  out.set(field, at);
  at += field.byteLength;
  at += source.copy(out, at, prepared.contentStart, prepared.fieldStart);
  at += source.copy(out, at, prepared.fieldEnd, request.byteLength);
  return at;
}

/** One ResourceMetrics encoded on its own (a piece of one too large for a request). */
function encode(resourceMetrics: ResourceMetrics): Uint8Array {
  const out = Buffer.allocUnsafe(prepare(resourceMetrics));
  writePrepared(out, 0);
  return out;
}

/** Where the one ResourceMetrics's content starts, and where its resource field (1) starts and ends. */
interface ResourceSpan {
  contentStart: number;
  fieldStart: number;
  fieldEnd: number;
}

const span: ResourceSpan = { contentStart: 0, fieldStart: 0, fieldEnd: 0 };
/** The position after the last varint read (readVarint returns the value). */
let cursor = 0;

/**
 * The span of `request` (an ExportMetricsServiceRequest of one ResourceMetrics, as the serializer
 * writes it: length-delimited fields only). An absent resource field is an empty span where the
 * content starts. The result is one shared object, valid until the next call.
 */
export function resourceSpan(request: Uint8Array): ResourceSpan {
  const tag = readVarint(request, 0);
  if (tag !== 0x0a) throw new Error(`unexpected field tag ${tag} in an encoded request`);
  const length = readVarint(request, cursor);
  const contentStart = cursor;
  if (contentStart + length !== request.byteLength)
    throw new Error('an encoded request holds more than one ResourceMetrics');
  span.contentStart = contentStart;
  span.fieldStart = contentStart;
  span.fieldEnd = contentStart;
  let at = contentStart;
  while (at < request.byteLength) {
    const fieldTag = readVarint(request, at);
    if ((fieldTag & 7) !== 2) throw new Error(`unexpected wire type in ResourceMetrics: tag ${fieldTag}`);
    const fieldLength = readVarint(request, cursor);
    const fieldEnd = cursor + fieldLength;
    if (fieldTag >>> 3 === 1) {
      span.fieldStart = at;
      span.fieldEnd = fieldEnd;
    }
    at = fieldEnd;
  }
  return span;
}

function readVarint(bytes: Uint8Array, at: number): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined || shift > 28) throw new Error('a malformed varint in an encoded request');
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      cursor = at;
      return value;
    }
    shift += 7;
  }
}

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/**
 * Buffers of one size for the requests of the exports, taken back once a request is answered. Why: the
 * requests of an export (7 of 2 MiB at 10,000 processes) were each a new buffer, all made at once, which
 * outlived a few young collections while the requests before them were sent and then waited for a full
 * one. Ours is now one buffer, kept.
 *
 * Each is a resizable ArrayBuffer, so that a request is sent without the OTLP transport's copy (see
 * `body`). The gRPC layer still copies each request once, into its message frame: the packages' own.
 */
export class RequestBuffers {
  readonly size: number;
  readonly #spare: Buffer[] = [];
  readonly #keep: number;

  /** @param keep spare buffers kept at most @default 1 */
  constructor(size = DEFAULT_MAX_REQUEST_BYTES, keep = 1) {
    this.size = size;
    this.#keep = keep;
  }

  /** A buffer of `size` bytes (a view of its whole ArrayBuffer, which it follows when that is resized). */
  take(): Buffer {
    return this.#spare.pop() ?? Buffer.from(new ArrayBuffer(this.size, { maxByteLength: this.size }));
  }

  /**
   * The first `bytes` of a buffer of `take`'s, as the body of a request, for a sender that copies what it
   * is given with `Buffer.from(body)`, as the OTLP gRPC transport does (GrpcExporterTransport.send)
   * before gRPC copies it again into its frame: 14 MiB of copies per export at 10,000 processes, which
   * waited for a full collection. `Buffer.from` of an object whose `valueOf()` is another object makes
   * the Buffer of that one, and of an ArrayBuffer it makes a view, not a copy. So the ArrayBuffer is cut
   * to the request's length and the body's `valueOf()` returns it: the transport's Buffer is then a view
   * of the request. Elsewhere the body is an ordinary view of those bytes. The buffer stays cut, and
   * its `take` view that long, until `give` takes it back. Any other buffer gets a plain view.
   */
  body(buffer: Buffer, bytes: number): Uint8Array {
    const whole = this.#wholeOf(buffer);
    if (whole === undefined) return buffer.subarray(0, bytes);
    whole.resize(bytes);
    const body: Uint8Array = new Uint8Array(whole, 0, bytes);
    // The type says a view is its own value; Buffer.from reads what valueOf returns.
    body.valueOf = () => whole as unknown as typeof body;
    return body;
  }

  /** Takes back a buffer of `take`'s once nothing reads it any more (its request's retries included). */
  give(buffer: Buffer): void {
    const whole = this.#wholeOf(buffer);
    if (whole === undefined) return;
    whole.resize(this.size);
    if (this.#spare.length < this.#keep && !this.#spare.includes(buffer)) this.#spare.push(buffer);
  }

  /** The ArrayBuffer of a buffer of `take`'s, undefined for any other buffer. */
  #wholeOf(buffer: Buffer): ArrayBuffer | undefined {
    const whole = buffer.buffer;
    return whole instanceof ArrayBuffer &&
      whole.resizable &&
      whole.maxByteLength === this.size &&
      buffer.byteOffset === 0
      ? whole
      : undefined;
  }
}

/**
 * Requests of whole ResourceMetrics, in order, each at most `maxBytes` encoded, all at once (each in a
 * buffer of its own). A ResourceMetrics larger than the budget on its own is split by data points
 * (splitResourceMetrics) into requests of its own. ResourceMetrics without scope metrics are left out.
 */
export function packResourceMetrics(
  resources: Iterable<ResourceMetrics>,
  maxBytes = DEFAULT_MAX_REQUEST_BYTES,
): EncodedRequest[] {
  return [...packRequests(resources, maxBytes)];
}

/**
 * The requests of packResourceMetrics one at a time: the next is packed when it is asked for, in a
 * buffer of `buffers` (by default a new one each). Each ResourceMetrics is sized and written in one
 * synchronous step, sized again after a request was handed out: a process's reading may change while
 * its request waits for the one before it to be sent (see ProcessResourceMetrics).
 */
export function* packRequests(
  resources: Iterable<ResourceMetrics>,
  maxBytes = DEFAULT_MAX_REQUEST_BYTES,
  buffers?: RequestBuffers,
): Generator<EncodedRequest, void, undefined> {
  if (buffers !== undefined && buffers.size < maxBytes)
    throw new RangeError(`request buffers of ${buffers.size} bytes cannot hold requests of ${maxBytes}`);
  // The request being filled: its ResourceMetrics are written one after the other into one buffer of
  // the budget's size, not kept as a Buffer each (10,000 per export) and concatenated at the end.
  let buffer: Buffer | undefined;
  let bytes = 0;
  let count = 0;
  let dataPoints = 0;
  const finish = (): EncodedRequest | undefined => {
    const request: EncodedRequest | undefined =
      buffer !== undefined && count > 0
        ? {
            kind: 'encoded',
            parts: [buffers ? buffers.body(buffer, bytes) : buffer.subarray(0, bytes)],
            bytes,
            resources: count,
            dataPoints,
            ...(buffers ? { buffer } : {}),
          }
        : undefined;
    if (request === undefined && buffer !== undefined) buffers?.give(buffer);
    buffer = undefined;
    bytes = 0;
    count = 0;
    dataPoints = 0;
    return request;
  };
  try {
    yield* pack();
  } finally {
    // a request being filled when the caller stopped asking (an export failed) or a write threw
    if (buffer !== undefined) buffers?.give(buffer);
  }

  function* pack(): Generator<EncodedRequest, void, undefined> {
    for (const resourceMetrics of resources) {
      const self = selfEncoded(resourceMetrics);
      for (;;) {
        // 0: nothing to send (no data point)
        const size = self
          ? selfEncodedSize(resourceMetrics)
          : resourceMetrics.scopeMetrics.length === 0
            ? 0
            : prepare(resourceMetrics);
        if (size === 0) break;
        if (size > maxBytes) {
          const request = finish();
          if (request) yield request;
          for (const piece of splitResourceMetrics(resourceMetrics, maxBytes / 2)) {
            const encoded = encode(piece);
            yield {
              kind: 'encoded',
              parts: [encoded],
              bytes: encoded.byteLength,
              resources: 1,
              dataPoints: countPoints(piece),
            };
          }
          break;
        }
        if (bytes + size > maxBytes) {
          const request = finish();
          if (request) {
            yield request;
            continue; // sized again: the reading may have changed meanwhile
          }
        }
        buffer ??= buffers ? buffers.take() : Buffer.allocUnsafe(maxBytes);
        bytes = self ? resourceMetrics.writeTo(buffer, bytes) : writePrepared(buffer, bytes);
        count++;
        dataPoints += countPoints(resourceMetrics);
        break;
      }
    }
    const request = finish();
    if (request) yield request;
  }
}

/** Its size now, 0 when it has no data point to send (sized first: sizing takes the reading's shape). */
function selfEncodedSize(resourceMetrics: SelfEncodedResourceMetrics): number {
  const size = resourceMetrics.encodedSize();
  return resourceMetrics.dataPointCount > 0 ? size : 0;
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
