/**
 * What the OTLP sink keeps of everything a pipeline sends it: only what a verification needs, in
 * bounded memory whatever the volume. Per series its latest point (value, read time, start time) and
 * when it last arrived; per downstream process (a distinct set of identity attributes) when it last
 * arrived. Identity attribute sets are stored once and shared by the series of the process. A series
 * that has not arrived for `retentionMs` is forgotten; beyond `maxSeries` new series are not kept and
 * are counted as overflow, which fails the verification's sink-capacity check.
 */
import type { LastSeen, Observation, ObservedMetric, ObservedType } from '../observation.ts';
import type { AnyValue, ExportMetricsServiceRequest, KeyValue, Metric } from './otlp-types.ts';

export interface SinkStoreOptions {
  /** most series kept @default 250000 */
  maxSeries?: number;
  /** a series not received for this long is forgotten @default 15 minutes */
  retentionMs?: number;
  now?: () => number;
}

/** Attributes that split one process's metric into several series (state, direction, type). */
const SPLIT_KEYS = new Set(['state', 'direction', 'type']);

interface Identity {
  /** short and unique: series keys hold it instead of the long attribute set */
  id: number;
  labels: Record<string, string>;
  startTimeMs: number | undefined;
  lastReceivedMs: number;
  series: number;
}

interface Series {
  identity: Identity;
  split: Record<string, string> | undefined;
  value: number;
  pointTimeMs: number;
  startTimeMs: number | undefined;
  lastReceivedMs: number;
}

interface MetricState {
  type: ObservedType;
  series: Map<string, Series>;
}

export interface SinkStats {
  requests: number;
  points: number;
  series: number;
  processes: number;
  overflow: { series: number; points: number };
  /** since when the sink receives, epoch ms */
  sinceMs: number;
}

/** An OTLP attribute value as a string, the way labels are compared. */
export function attributeText(value: AnyValue | undefined): string {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.arrayValue) return JSON.stringify(value.arrayValue.values.map(attributeText));
  if (value.kvlistValue)
    return JSON.stringify(
      Object.fromEntries(value.kvlistValue.values.map((kv) => [kv.key, attributeText(kv.value)])),
    );
  if (value.bytesValue) return Buffer.from(value.bytesValue).toString('base64');
  return '';
}

/** Nanoseconds (a decimal string) to milliseconds, without BigInt (one per point would cost). */
export function nanosToMs(nanos: string | undefined): number | undefined {
  if (!nanos || nanos === '0') return undefined;
  return nanos.length <= 6 ? 0 : Number(nanos.slice(0, -6));
}

function typeOf(metric: Metric): ObservedType {
  const temporality = (text: string | undefined): ObservedType['temporality'] =>
    text === 'AGGREGATION_TEMPORALITY_CUMULATIVE'
      ? 'cumulative'
      : text === 'AGGREGATION_TEMPORALITY_DELTA'
        ? 'delta'
        : 'unspecified';
  const points = metric.sum?.dataPoints ?? metric.gauge?.dataPoints;
  const first = points?.[0];
  const valueType = first?.value === 'asInt' ? 'int' : first?.value === 'asDouble' ? 'double' : undefined;
  switch (metric.data) {
    case 'sum':
      return {
        kind: 'sum',
        monotonic: metric.sum?.isMonotonic ?? false,
        temporality: temporality(metric.sum?.aggregationTemporality),
        unit: metric.unit,
        valueType,
      };
    case 'gauge':
      return { kind: 'gauge', unit: metric.unit, valueType };
    case 'exponentialHistogram':
      return { kind: 'exponential_histogram', unit: metric.unit };
    default:
      return { kind: metric.data ?? 'unknown', unit: metric.unit };
  }
}

export class SinkStore {
  readonly #metrics = new Map<string, MetricState>();
  readonly #identities = new Map<string, Identity>();
  readonly #maxSeries: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #sinceMs: number;
  #series = 0;
  #requests = 0;
  #points = 0;
  #overflowSeries = 0;
  #overflowPoints = 0;
  #sweptAtMs = 0;
  #nextIdentity = 1;
  /** hashes of the series refused while full, to count them once each (bounded) */
  readonly #overflowKeys = new Set<number>();

  constructor(options: SinkStoreOptions = {}) {
    this.#maxSeries = options.maxSeries ?? 250_000;
    this.#retentionMs = options.retentionMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
    this.#sinceMs = this.#now();
  }

  /** Keeps what a verification needs of one decoded request. */
  record(request: ExportMetricsServiceRequest): void {
    const receivedAtMs = this.#now();
    this.#requests++;
    if (receivedAtMs - this.#sweptAtMs > 10_000) this.sweep(receivedAtMs);
    for (const resourceMetrics of request.resourceMetrics) {
      const resource = resourceMetrics.resource?.attributes ?? [];
      for (const scopeMetrics of resourceMetrics.scopeMetrics) {
        for (const metric of scopeMetrics.metrics) this.#recordMetric(metric, resource, receivedAtMs);
      }
    }
  }

  #recordMetric(metric: Metric, resource: KeyValue[], receivedAtMs: number): void {
    const type = typeOf(metric);
    const state = this.#metrics.get(metric.name) ?? { type, series: new Map<string, Series>() };
    state.type = type;
    this.#metrics.set(metric.name, state);
    const points =
      metric.sum?.dataPoints ??
      metric.gauge?.dataPoints ??
      metric.histogram?.dataPoints ??
      metric.exponentialHistogram?.dataPoints ??
      metric.summary?.dataPoints ??
      [];
    for (const point of points) {
      this.#points++;
      const identityLabels: Record<string, string> = {};
      let split: Record<string, string> | undefined;
      for (const list of [resource, point.attributes]) {
        for (const kv of list) {
          const text = attributeText(kv.value);
          if (!SPLIT_KEYS.has(kv.key)) identityLabels[kv.key] = text;
          else {
            split ??= {};
            split[kv.key] = text;
          }
        }
      }
      const identityKey = canonical(identityLabels);
      const splitKey = split ? canonical(split) : '';
      let identity = this.#identities.get(identityKey);
      let series = identity && state.series.get(`${identity.id}\u0001${splitKey}`);
      if (!series) {
        if (this.#series >= this.#maxSeries) {
          this.#overflowPoints++;
          const hash = fnv1a(`${metric.name}\u0001${identityKey}\u0001${splitKey}`);
          if (!this.#overflowKeys.has(hash) && this.#overflowKeys.size < 100_000) {
            this.#overflowKeys.add(hash);
            this.#overflowSeries++;
          }
          continue;
        }
        if (!identity) {
          identity = {
            id: this.#nextIdentity++,
            labels: identityLabels,
            startTimeMs: undefined,
            lastReceivedMs: receivedAtMs,
            series: 0,
          };
          this.#identities.set(identityKey, identity);
        }
        identity.series++;
        series = {
          identity,
          split,
          value: Number.NaN,
          pointTimeMs: 0,
          startTimeMs: undefined,
          lastReceivedMs: receivedAtMs,
        };
        state.series.set(`${identity.id}\u0001${splitKey}`, series);
        this.#series++;
      }
      const number = point as { asInt?: string; asDouble?: number; value?: string };
      series.value =
        number.value === 'asInt'
          ? Number(number.asInt)
          : number.value === 'asDouble'
            ? (number.asDouble as number)
            : Number.NaN;
      series.pointTimeMs = nanosToMs(point.timeUnixNano) ?? receivedAtMs;
      series.startTimeMs = nanosToMs(point.startTimeUnixNano);
      series.lastReceivedMs = receivedAtMs;
      series.identity.lastReceivedMs = receivedAtMs;
      series.identity.startTimeMs = series.startTimeMs ?? series.identity.startTimeMs;
    }
  }

  /** Forgets series and processes not received for the retention time. */
  sweep(now = this.#now()): void {
    this.#sweptAtMs = now;
    const oldest = now - this.#retentionMs;
    for (const state of this.#metrics.values()) {
      for (const [key, series] of state.series) {
        if (series.lastReceivedMs >= oldest) continue;
        state.series.delete(key);
        this.#series--;
        series.identity.series--;
      }
    }
    for (const [key, identity] of this.#identities) if (identity.series <= 0) this.#identities.delete(key);
  }

  stats(): SinkStats {
    return {
      requests: this.#requests,
      points: this.#points,
      series: this.#series,
      processes: this.#identities.size,
      overflow: { series: this.#overflowSeries, points: this.#overflowPoints },
      sinceMs: this.#sinceMs,
    };
  }

  /**
   * The sink's view now: series of `metrics` received within the last `freshMs` (older ones count as
   * gone downstream), and when each downstream process last arrived.
   */
  observe(options: { metrics: readonly string[]; freshMs: number; location: string }): Observation {
    const now = this.#now();
    this.sweep(now);
    const fresh = now - options.freshMs;
    const metrics = new Map<string, ObservedMetric>();
    for (const name of options.metrics) {
      const state = this.#metrics.get(name);
      if (!state) continue;
      const series = [];
      for (const entry of state.series.values()) {
        if (entry.lastReceivedMs < fresh) continue;
        series.push({
          labels: entry.split ? { ...entry.identity.labels, ...entry.split } : entry.identity.labels,
          value: entry.value,
          pointTimeMs: entry.pointTimeMs,
          startTimeMs: entry.startTimeMs,
        });
      }
      if (series.length > 0) metrics.set(name, { name, type: state.type, series });
    }
    const lastSeen: LastSeen[] = [];
    for (const identity of this.#identities.values())
      lastSeen.push({
        labels: identity.labels,
        startTimeMs: identity.startTimeMs,
        lastSeenMs: identity.lastReceivedMs,
      });
    const wanted = new Set(options.metrics);
    const prefixes = new Set(options.metrics.map((name) => name.split('.')[0]));
    const otherNames = [...this.#metrics.keys()]
      .filter((name) => !wanted.has(name) && prefixes.has(name.split('.')[0]))
      .slice(0, 50);
    const notes = [
      `the sink has received ${this.#requests} requests (${this.#points} points) since ${new Date(this.#sinceMs).toISOString()}`,
    ];
    return {
      source: 'otlp-sink',
      location: options.location,
      naming: 'otlp',
      observedAtMs: now,
      readTimeKnown: true,
      metrics,
      lastSeen,
      lastSeenFromMs: Math.max(this.#sinceMs, now - this.#retentionMs),
      lastSeenStepMs: 0,
      otherNames,
      notes,
      overflow: { series: this.#overflowSeries, points: this.#overflowPoints },
    };
  }
}

/** One string per attribute set, whatever the order the attributes came in. */
function canonical(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  let text = '';
  for (const key of keys) text += `${key}\u0000${labels[key]}\u0000`;
  return text;
}

/** 32-bit FNV-1a: a short, cheap fingerprint of a refused series (collisions only undercount). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
