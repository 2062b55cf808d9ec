/**
 * One process metric of a /metrics collect, over every process of the collect, that hands its points to
 * the serializer one at a time from the readings (`eachPoint`) instead of keeping them as objects.
 *
 * Why: the producer used to keep per process one SDK data point per value, its times and an array
 * per metric (~25 objects a process), updated at each collect, for the serializer to read. At 10,000
 * processes they were a fifth of what every full garbage collection marked, and the collect walked
 * every process once more to update them. The Prometheus text needs only the name, the labels and the
 * value of each point, in this order, so the serializer asks for them while it writes.
 *
 * It is still a MetricData of the SDK: the PrometheusExporter collects it with the simulator's own
 * metrics, and `dataPoints` builds the SDK's points when another reader asks for them (the OTLP
 * datapoint shape, tests). Read it within the collect, as every reader of a snapshot (snapshot.ts):
 * its values are the readings' at the time it is read.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type MetricDescriptor,
} from '@opentelemetry/sdk-metrics';
import type { SampledProcess } from '../sampler/snapshot.ts';
import { deriveAttributes } from './derived-attributes.ts';
import type { ProcessMetricDefinition } from './process-metrics.ts';

/**
 * Told about each point: the process's attribute set, the attribute that splits the metric (undefined
 * when it is not split) and the value.
 */
export type PointWriter = (
  base: Attributes,
  splitKey: string | undefined,
  splitValue: string | undefined,
  value: number,
) => void;

/** A point as the SDK reads it. */
interface Point {
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  value: number;
}

export class ProcessSeriesMetric {
  readonly descriptor: MetricDescriptor;
  readonly aggregationTemporality = AggregationTemporality.CUMULATIVE;
  readonly dataPointType: DataPointType.GAUGE | DataPointType.SUM;
  readonly isMonotonic: boolean | undefined;
  readonly #definition: ProcessMetricDefinition;
  readonly #entries: readonly SampledProcess[];
  readonly #attributesOf: (entry: SampledProcess) => Attributes;
  /** the values of one process, reused */
  readonly #read: number[] = [];

  constructor(
    definition: ProcessMetricDefinition,
    descriptor: MetricDescriptor,
    entries: readonly SampledProcess[],
    attributesOf: (entry: SampledProcess) => Attributes,
  ) {
    this.descriptor = descriptor;
    this.dataPointType = definition.shape === 'gauge' ? DataPointType.GAUGE : DataPointType.SUM;
    if (definition.shape !== 'gauge') this.isMonotonic = definition.shape === 'counter';
    this.#definition = definition;
    this.#entries = entries;
    this.#attributesOf = attributesOf;
  }

  /** Each process's points, in the order of the processes and of the split's values. */
  eachPoint(write: PointWriter): void {
    const captured = this.capture();
    for (let p = 0; p < captured.processes; p++) captured.eachPointOf(p, write);
  }

  /**
   * The values of every process now, copied out of the readings into one typed array, so that a
   * writer may write them bit by bit later (a /metrics page streamed to a slow client) and still show
   * one moment of every process. Made when asked: 8 bytes a value, and no object per point.
   */
  capture(): CapturedSeries {
    const definition = this.#definition;
    const read = this.#read;
    const entries = this.#entries;
    const stride = definition.split?.values.length ?? 1;
    const counts = new Uint8Array(entries.length);
    const values = new Float64Array(entries.length * stride);
    for (let p = 0; p < entries.length; p++) {
      const entry = entries[p] as SampledProcess;
      const count = definition.read(entry.sample, entry.sample.readAtMs, read);
      if (count > stride) throw new Error(`${definition.name} read ${count} values; it has ${stride}`);
      counts[p] = count;
      for (let i = 0; i < count; i++) values[p * stride + i] = read[i] as number;
    }
    return new CapturedSeries(definition, entries, this.#attributesOf, counts, values, stride);
  }

  /** The points as the SDK's objects, built anew at each call. */
  get dataPoints(): Point[] {
    const points: Point[] = [];
    const definition = this.#definition;
    const read = this.#read;
    for (const entry of this.#entries) {
      const count = definition.read(entry.sample, entry.sample.readAtMs, read);
      if (count === 0) continue;
      const startTime = millisToHrTime(entry.sample.startTimeMs);
      const endTime = millisToHrTime(entry.sample.readAtMs);
      const base = this.#attributesOf(entry);
      for (let i = 0; i < count; i++) {
        const value = definition.split?.values[i];
        const attributes =
          definition.split === undefined || value === undefined
            ? base
            : deriveAttributes(base, definition.split.key, value);
        points.push({ startTime, endTime, attributes, value: read[i] as number });
      }
    }
    return points;
  }

  /** This as the SDK's type (a gauge or a sum). */
  asMetricData(): MetricData {
    return this as unknown as MetricData;
  }
}

/** The values of one metric of every process at one moment (ProcessSeriesMetric.capture). */
export class CapturedSeries {
  readonly processes: number;
  readonly #splitKey: string | undefined;
  readonly #splitValues: readonly string[] | undefined;
  readonly #entries: readonly SampledProcess[];
  readonly #attributesOf: (entry: SampledProcess) => Attributes;
  readonly #counts: Uint8Array;
  readonly #values: Float64Array;
  readonly #stride: number;

  constructor(
    definition: ProcessMetricDefinition,
    entries: readonly SampledProcess[],
    attributesOf: (entry: SampledProcess) => Attributes,
    counts: Uint8Array,
    values: Float64Array,
    stride: number,
  ) {
    this.processes = entries.length;
    this.#splitKey = definition.split?.key;
    this.#splitValues = definition.split?.values;
    this.#entries = entries;
    this.#attributesOf = attributesOf;
    this.#counts = counts;
    this.#values = values;
    this.#stride = stride;
  }

  /** The processes, in order: one array, shared by every series of a collection. */
  get entries(): readonly SampledProcess[] {
    return this.#entries;
  }

  /** The attribute set of the `p`th process. */
  attributesOf(p: number): Attributes {
    return this.#attributesOf(this.#entries[p] as SampledProcess);
  }

  /**
   * The points of the `p`th process, in the order of the split's values; `base` is its attribute set,
   * for a writer that looked it up already (`attributesOf`).
   */
  eachPointOf(p: number, write: PointWriter, base?: Attributes): void {
    const count = this.#counts[p] as number;
    if (count === 0) return;
    base ??= this.attributesOf(p);
    const at = p * this.#stride;
    for (let i = 0; i < count; i++)
      write(base, this.#splitKey, this.#splitValues?.[i], this.#values[at + i] as number);
  }
}

/** Whether `metric` hands its points out one at a time. */
export function isProcessSeries(metric: MetricData): metric is MetricData & ProcessSeriesMetric {
  return metric instanceof ProcessSeriesMetric;
}
