/**
 * One process's ResourceMetrics written as OTLP protobuf from its reading, straight into a request's
 * buffer: no data point objects kept per process, no buffer per process and export.
 *
 * Why not the package's serializer per process: it sizes the message, allocates a buffer for it and
 * writes it, per process and export, from SDK data point objects that the producer had to keep per
 * process for it (one per value, their times, arrays and MetricData: ~35 objects a process). At 10,000
 * processes those objects were a third of what every full garbage collection marked.
 *
 * What is written here is small, and every byte is still the package's. For each shape (which metrics
 * a process has values of, and how many each), the package's serializer encodes once a ResourceMetrics
 * with an empty Resource and placeholder values (`ShapeTemplate`). This file finds in those bytes where
 * each data point's start time, time and value lie. All three are fixed-width (fixed64, double or
 * sfixed64), so no length around them depends on them. An export then writes per process its
 * Resource's bytes (encoded once by the package, otlp-requests.ts) and the shape's bytes, and puts the
 * reading's times and values in place with the package's own arithmetic (writeHrTimeAsFixed64 and
 * writeSfixed64 of its protobuf writer, copied below). A test compares the bytes with the package's
 * serializer's for generated readings.
 */
import type { HrTime } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { emptyResource, type Resource } from '@opentelemetry/resources';
import type { ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { ProcessSample } from '../proc/reader.ts';
import {
  resourceFieldOf,
  resourceSpan,
  type SelfEncodedResourceMetrics,
  varintSize,
  writeVarint,
} from './otlp-requests.ts';

/** The bytes of one shape, and where its data points' fixed-width fields lie in them. */
export interface ShapeTemplate {
  /** the ResourceMetrics content before the resource field, and after it */
  readonly before: Uint8Array;
  readonly after: Uint8Array;
  /** per data point, in order: the offsets in `after` of its start time, its time and its value */
  readonly offsets: Int32Array;
  /** per data point: 1 when its value is an sfixed64 (as_int), 0 for a double (as_double) */
  readonly intValue: Uint8Array;
  readonly dataPoints: number;
}

/** What a shape's placeholder ResourceMetrics is built from: the counts of values per metric. */
export type BuildScopeMetrics = (
  counts: readonly number[],
  values: readonly number[][],
  times: Times,
) => ScopeMetrics[];

/** A process's start time and reading time, as the data points carry them. */
export interface Times {
  startTime: HrTime;
  endTime: HrTime;
}

const EMPTY_RESOURCE = emptyResource();

/** The shapes seen so far, by their counts (a few per selection of metrics). */
export class ShapeTemplates {
  readonly #templates = new Map<number, ShapeTemplate>();
  readonly #build: BuildScopeMetrics;
  readonly #definitions: number;

  constructor(definitions: number, build: BuildScopeMetrics) {
    this.#definitions = definitions;
    this.#build = build;
  }

  /** The key of `counts`: each count is at most 7 (a metric has at most three split values). */
  key(counts: readonly number[]): number {
    let key = 0;
    for (let d = 0; d < this.#definitions; d++) {
      const count = counts[d] as number;
      if (count > 7) throw new Error(`a process metric with ${count} values: at most 7 are encoded`);
      key = key * 8 + count;
    }
    return key;
  }

  get(key: number, counts: readonly number[]): ShapeTemplate {
    let template = this.#templates.get(key);
    if (template === undefined) {
      template = makeTemplate(
        this.#build(
          counts,
          counts.map((count) => new Array(count).fill(0)),
          PLACEHOLDER_TIMES,
        ),
      );
      this.#templates.set(key, template);
    }
    return template;
  }
}

const PLACEHOLDER_TIMES: Times = { startTime: [0, 0], endTime: [0, 0] };

function makeTemplate(scopeMetrics: ScopeMetrics[]): ShapeTemplate {
  const request = ProtobufMetricsSerializer.serializeRequest({ resource: EMPTY_RESOURCE, scopeMetrics });
  if (request === undefined) throw new Error('the OTLP serializer encoded nothing');
  const bytes = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
  // The ResourceMetrics's content around its (empty) resource field, as otlp-requests.ts splices it.
  const { contentStart, fieldStart, fieldEnd } = resourceSpan(bytes);
  const before = Uint8Array.prototype.slice.call(bytes, contentStart, fieldStart);
  const after = Uint8Array.prototype.slice.call(bytes, fieldEnd, bytes.byteLength);
  const offsets: number[] = [];
  const intValue: number[] = [];
  // scope_metrics (2) > metrics (2) > gauge (5) | sum (7) > data_points (1) > fixed-width fields
  for (const scope of fields(after, 0, after.byteLength))
    if (scope.tag === 0x12)
      for (const metric of fields(after, scope.start, scope.end))
        if (metric.tag === 0x12)
          for (const data of fields(after, metric.start, metric.end))
            if (data.tag === 0x2a || data.tag === 0x3a)
              for (const point of fields(after, data.start, data.end))
                if (point.tag === 0x0a) {
                  let start = -1;
                  let time = -1;
                  let value = -1;
                  let isInt = 0;
                  for (const field of fields(after, point.start, point.end)) {
                    if (field.tag === 0x11) start = field.start;
                    else if (field.tag === 0x19) time = field.start;
                    else if (field.tag === 0x21 || field.tag === 0x31) {
                      value = field.start;
                      isInt = field.tag === 0x31 ? 1 : 0;
                    }
                  }
                  if (start < 0 || time < 0 || value < 0)
                    throw new Error('a data point without its times or value');
                  offsets.push(start, time, value);
                  intValue.push(isInt);
                }
  return {
    before,
    after,
    offsets: Int32Array.from(offsets),
    intValue: Uint8Array.from(intValue),
    dataPoints: intValue.length,
  };
}

/** A protobuf field: its tag, where it starts (`at`), where its payload starts and ends. */
interface Field {
  tag: number;
  at: number;
  start: number;
  end: number;
}

/** The fields of the message in `bytes` between `from` and `to` (only at template building). */
function fields(bytes: Uint8Array, from: number, to: number): Field[] {
  const out: Field[] = [];
  let at = from;
  while (at < to) {
    const [tag, afterTag] = varint(bytes, at);
    let start = afterTag;
    let end: number;
    switch (tag & 7) {
      case 0:
        end = varint(bytes, afterTag)[1];
        break;
      case 1:
        end = afterTag + 8;
        break;
      case 2: {
        const [length, afterLength] = varint(bytes, afterTag);
        start = afterLength;
        end = afterLength + length;
        break;
      }
      case 5:
        end = afterTag + 4;
        break;
      default:
        throw new Error(`unexpected wire type in tag ${tag}`);
    }
    if (end > to) throw new Error('a field runs past its message');
    out.push({ tag, at, start, end });
    at = end;
  }
  return out;
}

function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    const byte = bytes[at++];
    if (byte === undefined) break;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
  }
  throw new Error('a malformed varint');
}

/** What a process's item asks of the source that made it. */
export interface ProcessEncoding {
  /**
   * Reads the values of `sample` per metric into arrays of the source's, reused at the next call (one
   * process is written at a time), and says how many each metric has.
   */
  readValues(sample: ProcessSample): { values: readonly number[][]; counts: readonly number[] };
  /** the shape of `sample`'s reading as it is now; undefined when no metric has a value */
  templateOf(sample: ProcessSample): ShapeTemplate | undefined;
  /** the ScopeMetrics of `sample` as SDK objects (built anew: a split or a test asks for them) */
  scopeMetricsOf(sample: ProcessSample): ScopeMetrics[];
}

const scratchTime: HrTime = [0, 0];

/**
 * One process's ResourceMetrics in an export: its Resource, its reading and its shape. Made per process
 * and export, right before it is written (a small object that dies young).
 *
 * The sampler writes a later reading into the same sample object (two samples later, or at once for a
 * process it reads between samples), and a request may wait for the one before it to be sent. So
 * `encodedSize` takes the shape of the reading as it is when it is called, and `writeTo` writes that
 * shape with the values then: call them in one synchronous step, as the request packer does.
 */
export class ProcessResourceMetrics implements SelfEncodedResourceMetrics {
  readonly resource: Resource;
  readonly #sample: ProcessSample;
  readonly #encoding: ProcessEncoding;
  #template: ShapeTemplate | undefined;
  /** the Resource's encoded field, looked up once (sized, then written) */
  #field: Uint8Array | undefined;

  /** the start (stat starttime) of the process the Resource is of */
  readonly #startTicks: number;

  constructor(resource: Resource, sample: ProcessSample, encoding: ProcessEncoding, template: ShapeTemplate) {
    this.resource = resource;
    this.#sample = sample;
    this.#encoding = encoding;
    this.#template = template;
    this.#startTicks = sample.startTicks;
  }

  get scopeMetrics(): ScopeMetrics[] {
    return this.#encoding.scopeMetricsOf(this.#sample);
  }

  /** the data points of the shape last measured (at first, the one it was made with) */
  get dataPointCount(): number {
    return this.#template?.dataPoints ?? 0;
  }

  /** Whether the bytes can come from the template: a Resource with a schema URL adds a field to them. */
  get selfEncodes(): boolean {
    return !this.resource.schemaUrl;
  }

  /**
   * Every byte of the `resource_metrics` field (tag, length and content) of the reading as it is now;
   * 0 when it has no value to send (`dataPointCount` is 0 then).
   */
  encodedSize(): number {
    // Another process under the same PID (reused while earlier requests were sent) has its reading in
    // the entry now: it is not the process of this Resource, and goes out with the next export.
    this.#template =
      this.#sample.startTicks === this.#startTicks ? this.#encoding.templateOf(this.#sample) : undefined;
    if (this.#template === undefined) return 0;
    const length = this.#contentLength(this.#template);
    return 1 + varintSize(length) + length;
  }

  #contentLength(template: ShapeTemplate): number {
    return template.before.byteLength + this.#resourceField().byteLength + template.after.byteLength;
  }

  #resourceField(): Uint8Array {
    this.#field ??= resourceFieldOf(this.resource);
    return this.#field;
  }

  /** Writes the field into `out` at `at`, in the shape `encodedSize` measured; returns the position after it. */
  writeTo(out: Buffer, at: number): number {
    const template = this.#template;
    if (template === undefined) throw new Error('a process with no value to send cannot be written');
    const field = this.#resourceField();
    out[at] = 0x0a; // field 1 (resource_metrics), wire type 2
    at = writeVarint(out, at + 1, this.#contentLength(template));
    out.set(template.before, at);
    at += template.before.byteLength;
    out.set(field, at);
    at += field.byteLength;
    const base = at;
    out.set(template.after, at);
    at += template.after.byteLength;

    const sample = this.#sample;
    setHrTime(scratchTime, sample.startTimeMs);
    hrTimeAsFixed64(scratchTime);
    const startLow = halves.low;
    const startHigh = halves.high;
    setHrTime(scratchTime, sample.readAtMs);
    hrTimeAsFixed64(scratchTime);
    const timeLow = halves.low;
    const timeHigh = halves.high;
    const { values, counts } = this.#encoding.readValues(sample);
    const { offsets, intValue } = template;
    let point = 0;
    for (let d = 0; d < counts.length; d++) {
      const read = values[d] as number[];
      const count = counts[d] as number;
      for (let i = 0; i < count; i++, point++) {
        const o = point * 3;
        writeFixed64(out, base + (offsets[o] as number), startLow, startHigh);
        writeFixed64(out, base + (offsets[o + 1] as number), timeLow, timeHigh);
        const value = read[i] as number;
        if (intValue[point] === 1) writeSfixed64(out, base + (offsets[o + 2] as number), value);
        else out.writeDoubleLE(value, base + (offsets[o + 2] as number));
      }
    }
    if (point !== template.dataPoints) throw new Error('a reading does not fit the shape it was sorted into');
    return at;
  }
}

/**
 * `ms` since the epoch into an existing HrTime: the arithmetic of the core package's millisToHrTime,
 * written here because that one returns a new array.
 */
export function setHrTime(time: HrTime, ms: number): void {
  time[0] = Math.trunc(ms / 1e3);
  time[1] = Math.round((ms % 1e3) * 1e6);
}

// The package's writeHrTimeAsFixed64 (common/protobuf/common-serializer), with the two halves left in
// `halves` instead of written: a process's two times are computed once for all its points.
const halves = { low: 0, high: 0 };
function hrTimeAsFixed64(hrTime: HrTime): void {
  const seconds = hrTime[0];
  const nanos = hrTime[1];
  const nanosPerSecond = 1e9;
  const secondsLower16Bits = seconds & 65535;
  const secondsUpperBits = (seconds / 65536) >>> 0;
  const nanosFromLower16Bits = secondsLower16Bits * nanosPerSecond;
  const nanosFromUpperBits = secondsUpperBits * nanosPerSecond;
  const lower16ContributionLow32 = nanosFromLower16Bits >>> 0;
  const lower16ContributionHigh32 = Math.floor(nanosFromLower16Bits / 4294967296);
  const upperBitsContributionLow32 = ((nanosFromUpperBits & 65535) * 65536) >>> 0;
  const upperBitsContributionHigh32 = (nanosFromUpperBits / 65536) >>> 0;
  const low32WithCarry = lower16ContributionLow32 + upperBitsContributionLow32 + nanos;
  halves.low = low32WithCarry >>> 0;
  const carry = Math.floor(low32WithCarry / 4294967296);
  halves.high = (lower16ContributionHigh32 + upperBitsContributionHigh32 + carry) >>> 0;
}

function writeFixed64(out: Uint8Array, at: number, low: number, high: number): void {
  out[at] = low & 255;
  out[at + 1] = (low >>> 8) & 255;
  out[at + 2] = (low >>> 16) & 255;
  out[at + 3] = (low >>> 24) & 255;
  out[at + 4] = high & 255;
  out[at + 5] = (high >>> 8) & 255;
  out[at + 6] = (high >>> 16) & 255;
  out[at + 7] = (high >>> 24) & 255;
}

/** The package writer's writeSfixed64, with its truncation of a value that is not an integer. */
function writeSfixed64(out: Uint8Array, at: number, value: number): void {
  let low: number;
  let high: number;
  if (value >= 0) {
    low = value >>> 0;
    high = (value / 4294967296) >>> 0;
  } else {
    const abs = Math.abs(value);
    low = ~(abs >>> 0) >>> 0;
    high = ~((abs / 4294967296) >>> 0) >>> 0;
    low = (low + 1) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
  }
  writeFixed64(out, at, low, high);
}
