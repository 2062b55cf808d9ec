/**
 * The Prometheus text for /metrics, byte for byte what the exporter package's PrometheusSerializer
 * writes with our settings (no prefix, no timestamps, target_info, no scope labels), but fast enough
 * for 10,000 processes (90,000 series). The package's serializer rebuilds every series' label string
 * with a regex per key and three per value on each scrape (1.7 s at 10,000 processes here). This one
 * builds a label string once per attribute set and keeps it as long as that set lives: the process
 * producer reuses one attributes object per process and metric split, so a scrape of idle processes
 * only formats numbers, and a process's strings go away with it (WeakMap). A split's set (the
 * process's plus a state, direction or type, derived-attributes.ts) is written as the process's label
 * string and a suffix shared by all processes, so a process keeps one label string, not seven.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import {
  DataPointType,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { SampledProcess } from '../sampler/snapshot.ts';
import { derivationOf } from './derived-attributes.ts';
import { type CapturedSeries, isProcessSeries, type PointWriter } from './process-series.ts';
import { ByteWriter, valueString } from './prometheus-bytes.ts';

type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'untyped';

interface Family {
  help: string;
  unit: string;
  type: PrometheusType;
  metrics: MetricData[];
  /** false once two metrics of this name disagree on the type: the family is dropped, as upstream */
  valid: boolean;
}

const NEWLINE = 0x0a;
const NO_LABELS: Buffer = Buffer.alloc(0);

/** The processes of a page, in order: their attribute sets and label bytes (`#pageProcesses`). */
interface PageProcesses {
  attributes: Attributes[];
  labels: Buffer[];
}
/** a chunk of a streamed page: ~600 series of a process metric */
export const CHUNK_BYTES = 256 * 1024;
/** chunk buffers kept for the next chunks: a page in flight needs about two */
const SPARE_CHUNKS = 4;

/** Serializes collections to the Prometheus text format; keep one per endpoint (it holds the cache). */
export class PrometheusTextSerializer {
  /** `{key="value",...}` of an attribute set, as UTF-8 bytes (empty when the set is) */
  readonly #labels = new WeakMap<Attributes, Buffer>();
  readonly #keys = new Map<string, string>();
  readonly #names = new Map<string, Buffer>();
  /**
   * the label suffixes of derived sets (a handful: states, directions, types), by opening, key and
   * value: nested maps, so that a lookup per point builds no key string
   */
  readonly #suffixes = [new Map<string, Map<string, Buffer>>(), new Map<string, Map<string, Buffer>>()];
  /** size of the last output: the next one starts with a buffer that fits it */
  #lastSize = 0;
  /** buffers of written chunks, for the next chunks (`chunks`, `release`), all of `#spareBytes` */
  #spareChunks: Buffer[] = [];
  #spareBytes = CHUNK_BYTES;

  /** The text as one string (tests, small outputs). */
  serialize(resourceMetrics: ResourceMetrics): string {
    return this.serializeToBuffer(resourceMetrics).toString('utf8');
  }

  /**
   * The text as UTF-8 bytes, written straight into one buffer: at 90,000 series this spares the heap
   * a string per series and a 40 MB joined copy per scrape, which made the engine's RSS balloon.
   */
  serializeToBuffer(resourceMetrics: ResourceMetrics): Buffer {
    const out = new ByteWriter(Buffer.allocUnsafe(Math.max(4096, this.#lastSize + 4096)));
    for (const _ of this.#write(resourceMetrics, out, Number.POSITIVE_INFINITY));
    this.#lastSize = out.length;
    return out.take();
  }

  /**
   * The text in chunks of at most `chunkBytes` (more when one process's lines are longer than a
   * quarter of that), for a response written
   * with backpressure: every value is copied out of the readings before the first chunk (one moment
   * of every process, however slowly the client reads), and a chunk's buffer is written again only
   * after `release(chunk)`, so a page needs a few chunks of memory instead of one buffer of the whole
   * page (40 MB at 10,000 processes, allocated and freed per scrape: each one pushed V8 into a full
   * garbage collection for its external memory).
   */
  *chunks(resourceMetrics: ResourceMetrics, chunkBytes = CHUNK_BYTES): Generator<Buffer, void, undefined> {
    const out = new ByteWriter(this.#chunk(chunkBytes));
    // A chunk is handed out at three quarters full, so the lines of the process after that still fit
    // and the buffer is not grown (grown, it would be a new allocation and no longer a spare's size).
    const limit = Math.max(1, Math.floor((chunkBytes * 3) / 4));
    for (const _ of this.#write(resourceMetrics, out, limit)) {
      yield out.take();
      out.restart(this.#chunk(chunkBytes));
    }
    if (out.length > 0) yield out.take();
  }

  /** Hands a chunk of `chunks` back once it is written; its buffer serves a later chunk. */
  release(chunk: Buffer): void {
    const whole = chunk.buffer;
    if (
      this.#spareChunks.length < SPARE_CHUNKS &&
      whole.byteLength === this.#spareBytes &&
      !this.#spareChunks.some((spare) => spare.buffer === whole)
    )
      this.#spareChunks.push(Buffer.from(whole));
  }

  #chunk(bytes: number): Buffer {
    if (bytes !== this.#spareBytes) {
      this.#spareBytes = bytes;
      this.#spareChunks = [];
    }
    // Slow: a buffer of its own, never a slice of Node's shared pool, so `release` can keep it whole.
    return this.#spareChunks.pop() ?? Buffer.allocUnsafeSlow(bytes);
  }

  /**
   * Writes the page into `out`, yielding whenever it holds `limit` bytes or more (between two lines;
   * the caller takes them and restarts `out`). The process metrics are captured first, all of them.
   */
  *#write(
    resourceMetrics: ResourceMetrics,
    out: ByteWriter,
    limit: number,
  ): Generator<void, void, undefined> {
    const families = this.#families(resourceMetrics);
    const processes = new Map<readonly SampledProcess[], PageProcesses>();
    const captured = new Map<MetricData, CapturedSeries>();
    for (const family of families.values())
      for (const metric of family.metrics)
        if (isProcessSeries(metric)) captured.set(metric, metric.capture());
    let wroteMetric = false;
    for (const [name, family] of families) {
      if (!family.valid) continue;
      let writeMetadata = true;
      if (name === 'target_info') {
        // Upstream puts the resource before every metric; target_info is always the first family.
        out.text(`${metadataLines(name, family)}\n${name}`);
        out.bytes(this.#labelBytes(resourceMetrics.resource.attributes));
        out.ascii(' 1\n');
        writeMetadata = false;
      }
      for (const metric of family.metrics) {
        const series = captured.get(metric);
        const page = series && this.#pageProcesses(processes, series);
        if (yield* this.#writeMetric(out, limit, name, family, metric, series, page, writeMetadata)) {
          out.byte(NEWLINE);
          writeMetadata = false;
          wroteMetric = true;
        }
        if (out.length >= limit) yield;
      }
    }
    if (!wroteMetric) out.ascii('# no registered metrics');
  }

  /**
   * One metric's lines, each but the last followed by a newline (upstream trims the last one, or the
   * newline of a header without points). False when it wrote nothing.
   */
  *#writeMetric(
    out: ByteWriter,
    limit: number,
    name: string,
    family: Family,
    metric: MetricData,
    captured: CapturedSeries | undefined,
    page: PageProcesses | undefined,
    writeMetadata: boolean,
  ): Generator<void, boolean, undefined> {
    let lines = 0;
    const newline = () => {
      if (lines++ > 0) out.byte(NEWLINE);
    };
    if (writeMetadata) {
      newline();
      out.text(metadataLines(name, family));
    }
    if (captured !== undefined && page !== undefined) {
      // The process metrics hand their points over one at a time, from the values captured.
      const nameBytes = this.#nameBytes(name);
      let labels = NO_LABELS;
      const write: PointWriter = (base, splitKey, splitValue, value) => {
        newline();
        out.bytes(nameBytes);
        if (splitKey === undefined || splitValue === undefined) out.bytes(labels);
        else this.#writeSplitLabels(out, base, splitKey, splitValue, labels);
        out.spaceAndValue(value);
      };
      for (let p = 0; p < captured.processes; p++) {
        labels = page.labels[p] as Buffer;
        captured.eachPointOf(p, write, page.attributes[p]);
        if (out.length >= limit) yield;
      }
    } else if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
      const nameBytes = this.#nameBytes(name);
      for (const point of metric.dataPoints) {
        newline();
        out.bytes(nameBytes);
        this.#writeLabels(out, point.attributes);
        out.spaceAndValue(point.value);
        if (out.length >= limit) yield;
      }
    } else if (metric.dataPointType === DataPointType.HISTOGRAM) {
      for (const point of metric.dataPoints) {
        for (const line of this.#histogramLines(name, point.attributes, point.value)) {
          newline();
          out.text(line);
        }
        if (out.length >= limit) yield;
      }
    }
    return lines > 0;
  }

  #histogramLines(name: string, attributes: Attributes, histogram: Histogram): string[] {
    const lines: string[] = [];
    const labels = this.#labelBytes(attributes).toString('utf8');
    if (histogram.count != null) lines.push(`${name}_count${labels} ${valueString(histogram.count)}`);
    if (histogram.sum != null) lines.push(`${name}_sum${labels} ${valueString(histogram.sum)}`);
    const inner = labels === '' ? '' : `${labels.slice(1, -1)},`;
    let cumulative = 0;
    let infiniteBoundary = false;
    histogram.buckets.counts.forEach((count, index) => {
      if (infiniteBoundary && index >= histogram.buckets.boundaries.length) return;
      cumulative += count;
      const bound = histogram.buckets.boundaries[index];
      if (bound === Number.POSITIVE_INFINITY) infiniteBoundary = true;
      const le = bound === undefined || bound === Number.POSITIVE_INFINITY ? '+Inf' : String(bound);
      lines.push(`${name}_bucket{${inner}le="${le}"} ${valueString(cumulative)}`);
    });
    return lines;
  }

  #nameBytes(name: string): Buffer {
    let bytes = this.#names.get(name);
    if (!bytes) {
      bytes = Buffer.from(name, 'utf8');
      this.#names.set(name, bytes);
    }
    return bytes;
  }

  /**
   * The labels of a set: a derived set (derived-attributes.ts) as its base's labels, less the closing
   * brace, then `,key="value"}` shared by every base; any other set from its own cached bytes.
   */
  #writeLabels(out: ByteWriter, attributes: Attributes): void {
    const derivation = derivationOf(attributes);
    if (derivation === undefined) {
      out.bytes(this.#labelBytes(attributes));
      return;
    }
    const base = this.#labelBytes(derivation.base);
    if (base.length > 0) out.prefix(base, base.length - 1);
    out.bytes(this.#suffixBytes(derivation.key, derivation.value, base.length === 0));
  }

  /**
   * The labels of `base` plus `key="value"`, as `#writeLabels` writes a derived set: the base's labels
   * less the closing brace, then the shared suffix. A base that has the key already (no process
   * attribute is named as a split) gets the set's own labels, uncached.
   */
  #writeSplitLabels(
    out: ByteWriter,
    base: Attributes,
    key: string,
    value: string,
    labels = this.#labelBytes(base),
  ): void {
    if (Object.hasOwn(base, key)) {
      const pairs: string[] = [];
      const set: Attributes = { ...base, [key]: value };
      for (const name of Object.keys(set))
        pairs.push(`${this.#sanitizedKey(name)}="${escapeLabelValue(set[name])}"`);
      out.text(`{${pairs.join(',')}}`);
      return;
    }
    if (labels.length > 0) out.prefix(labels, labels.length - 1);
    out.bytes(this.#suffixBytes(key, value, labels.length === 0));
  }

  /**
   * Each process's attribute set and label bytes for a page, looked up once per page instead of at
   * every point: the page's process metrics share one array of processes, and a lookup is two hash
   * lookups (the producer's set by identity, then the bytes by set) on memory a scrape has not touched
   * since the last one; at 10,000 processes, 15 metrics made them about a third of a page's CPU.
   */
  #pageProcesses(
    pages: Map<readonly SampledProcess[], PageProcesses>,
    series: CapturedSeries,
  ): PageProcesses {
    let page = pages.get(series.entries);
    if (page === undefined) {
      page = { attributes: new Array(series.processes), labels: new Array(series.processes) };
      for (let p = 0; p < series.processes; p++) {
        const attributes = series.attributesOf(p);
        page.attributes[p] = attributes;
        page.labels[p] = this.#labelBytes(attributes);
      }
      pages.set(series.entries, page);
    }
    return page;
  }

  /** `,key="value"}`, or `{key="value"}` after an empty base; one per key and value. */
  #suffixBytes(key: string, value: string, opens: boolean): Buffer {
    const byKey = this.#suffixes[opens ? 1 : 0] as Map<string, Map<string, Buffer>>;
    let byValue = byKey.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      byKey.set(key, byValue);
    }
    let bytes = byValue.get(value);
    if (bytes === undefined) {
      bytes = Buffer.from(
        `${opens ? '{' : ','}${this.#sanitizedKey(key)}="${escapeLabelValue(value)}"}`,
        'utf8',
      );
      byValue.set(value, bytes);
    }
    return bytes;
  }

  #sanitizedKey(key: string): string {
    let sanitized = this.#keys.get(key);
    if (sanitized === undefined) {
      sanitized = sanitizeName(key);
      this.#keys.set(key, sanitized);
    }
    return sanitized;
  }

  /** `{key="value",...}` for an attribute set, or nothing when it is empty; built once per set. */
  #labelBytes(attributes: Attributes): Buffer {
    let labels = this.#labels.get(attributes);
    if (labels !== undefined) return labels;
    const pairs: string[] = [];
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      pairs.push(`${this.#sanitizedKey(key)}="${escapeLabelValue(attributes[key])}"`);
    }
    labels = Buffer.from(pairs.length === 0 ? '' : `{${pairs.join(',')}}`, 'utf8');
    this.#labels.set(attributes, labels);
    return labels;
  }

  #families(resourceMetrics: ResourceMetrics): Map<string, Family> {
    const families = new Map<string, Family>();
    families.set('target_info', {
      help: 'Target metadata',
      unit: '',
      type: 'gauge',
      metrics: [],
      valid: true,
    });
    for (const { metrics } of resourceMetrics.scopeMetrics) {
      for (const metric of metrics) {
        const name = metricName(metric);
        if (name === undefined) continue;
        const type = prometheusType(metric);
        const family = families.get(name);
        if (!family) {
          families.set(name, {
            help: metric.descriptor.description,
            unit: metric.descriptor.unit,
            type,
            metrics: [metric],
            valid: true,
          });
        } else if (family.valid && family.type !== type) {
          family.valid = false;
          family.metrics = [];
        } else if (family.valid) {
          family.metrics.push(metric);
        }
      }
    }
    // The first non-empty help and unit of a family win.
    for (const family of families.values()) {
      for (const { descriptor } of family.metrics) {
        if (descriptor.description && !family.help) family.help = descriptor.description;
        if (descriptor.unit && !family.unit) family.unit = descriptor.unit;
      }
    }
    return families;
  }
}

/** HELP, UNIT (when there is one) and TYPE lines, without the last newline. */
function metadataLines(name: string, family: Family): string {
  // No `# UNIT` line: text format 0.0.4 has none, and the collector's page carries the unit in the name.
  return `# HELP ${name} ${escapeText(family.help || 'description missing')}\n# TYPE ${name} ${family.type}`;
}

/**
 * UCUM units and the suffix the collector's prometheus exporter appends for them (its default
 * translation strategy), so that the simulator's own page and the collector's agree on every name.
 * Units in braces ({threads}) are annotations and add nothing.
 */
const UNIT_SUFFIXES: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  min: 'minutes',
  h: 'hours',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  '%': 'percent',
};

function metricName(metric: MetricData): string | undefined {
  let name = sanitizeName(escapeText(metric.descriptor.name));
  if (name === '' || name === '_') return undefined;
  if (name[0] !== undefined && name[0] >= '0' && name[0] <= '9') name = `_${name}`;
  const suffix = UNIT_SUFFIXES[metric.descriptor.unit];
  if (suffix && !name.split('_').includes(suffix)) name += `_${suffix}`;
  if (!name.endsWith('_total') && metric.dataPointType === DataPointType.SUM && metric.isMonotonic)
    name += '_total';
  return name;
}

function prometheusType(metric: MetricData): PrometheusType {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'untyped';
  }
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(value: AttributeValue | undefined): string {
  const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return NEEDS_ESCAPE.test(text) ? escapeText(text).replace(/"/g, '\\"') : text;
}
