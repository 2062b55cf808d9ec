/**
 * A MetricProducer that builds the process metrics from the latest snapshot at each collect, instead of
 * observable instruments. Why: the SDK's observable instruments with cumulative temporality never forget
 * an attribute set (a dead PID keeps being exported at its last value), cap each instrument at 2,000
 * attribute sets and fold the rest into an overflow series, and grow memory under churn. Building the
 * data from what is alive now has none of those problems and needs no cardinality cap.
 */
import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { emptyResource, type Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type GaugeMetricData,
  type MetricData,
  type MetricDescriptor,
  type MetricProducer,
  type ScopeMetrics,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { ProcessSample } from '../proc/reader.ts';
import type { SampledProcess, SnapshotStore } from '../sampler/snapshot.ts';
import { deriveAttributes } from './derived-attributes.ts';
import { type ProcessEncoding, ProcessResourceMetrics, ShapeTemplates } from './otlp-process-encoding.ts';
import {
  defaultSelection,
  type MetricSelection,
  PROCESS_METRICS,
  type ProcessMetricDefinition,
} from './process-metrics.ts';
import { processResource } from './process-resource.ts';

export interface ProcessProducerOptions {
  store: SnapshotStore;
  /** 'otlp': hostmetrics names and units; 'prometheus': the names the collector's prometheus exporter writes */
  naming: 'otlp' | 'prometheus';
  /** prefix of the simulation attributes, or undefined to leave them out (a real host's exact shape) */
  simulationPrefix: string | undefined;
  /** the metrics and per-process attributes emitted @default defaultSelection() */
  selection?: MetricSelection;
  /**
   * also emit the last readings of the processes that exited, each once (SnapshotStore.takeDeparted:
   * one producer per store may take them): a push exporter's, so that a process's final counters reach
   * the backend; a pull (/metrics) shows live processes only @default false
   */
  departed?: boolean;
  scope: { name: string; version: string };
}

/**
 * Attributes of one process, built once per process (its identity never changes), in the receiver's
 * order and with its values (PS/process.go 49-70): the command is argv[0] as written, the command line
 * argv joined by single spaces; cgroup and linux.cgroup are the same string.
 */
export function processAttributes(
  entry: SampledProcess,
  prefix: string | undefined,
  keys: MetricSelection['attributes'] = defaultSelection().attributes,
): Attributes {
  const { identity, sample, info } = entry;
  const attributes: Attributes = {};
  if (keys.has('process.pid')) attributes['process.pid'] = sample.pid;
  if (keys.has('process.parent_pid')) attributes['process.parent_pid'] = sample.ppid;
  if (keys.has('process.executable.name')) attributes['process.executable.name'] = sample.name;
  if (keys.has('process.executable.path')) attributes['process.executable.path'] = identity.executablePath;
  if (keys.has('process.command')) attributes['process.command'] = identity.commandLine[0] ?? '';
  if (keys.has('process.command_line')) attributes['process.command_line'] = identity.commandLine.join(' ');
  if (keys.has('process.owner')) attributes['process.owner'] = identity.owner;
  if (identity.cgroup !== undefined) {
    if (keys.has('process.cgroup')) attributes['process.cgroup'] = identity.cgroup;
    if (keys.has('process.linux.cgroup')) attributes['process.linux.cgroup'] = identity.cgroup;
  }
  if (prefix !== undefined) {
    attributes[`${prefix}priority`] = info.priority;
    attributes[`${prefix}profile`] = info.profile;
    // Only in a sharded run: tells the shards' processes apart in one fleet-wide query.
    if (info.shard !== undefined) attributes[`${prefix}shard`] = String(info.shard);
    attributes[`${prefix}simulation_id`] = info.simulationId;
    attributes[`${prefix}cpu_pattern`] = info.cpuPattern;
    attributes[`${prefix}memory_pattern`] = info.memoryPattern;
  }
  return attributes;
}

function descriptorOf(definition: ProcessMetricDefinition, naming: 'otlp' | 'prometheus'): MetricDescriptor {
  return {
    name: naming === 'otlp' ? definition.name : definition.prometheusName,
    description: definition.description,
    // The collector's prometheus exporter carries the unit in the name only; so does ours.
    unit: naming === 'otlp' ? definition.unit : '',
    valueType: definition.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE,
  };
}

/** A gauge, or a cumulative sum (monotonic for a counter), of `dataPoints`. */
function metricData(
  definition: ProcessMetricDefinition,
  descriptor: MetricDescriptor,
  dataPoints: MetricData['dataPoints'],
): MetricData {
  if (definition.shape === 'gauge') {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE,
      dataPoints: dataPoints as GaugeMetricData['dataPoints'],
    };
  }
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: definition.shape === 'counter',
    dataPoints: dataPoints as SumMetricData['dataPoints'],
  };
}

/** The processes a collect sends: the live ones (after `fresh`), then, when asked, the departed ones. */
function processesToSend(options: ProcessProducerOptions): Array<ReadonlyMap<number, SampledProcess>> {
  const snapshot = options.store.fresh();
  return options.departed ? [snapshot.processes, options.store.takeDeparted()] : [snapshot.processes];
}

/**
 * An array of `length` slots and no more: a process keeps a few of these for its life, and one grown by
 * push holds room for 17 (about 0.9 KB a process over its metrics, counted in a heap snapshot).
 */
function exactArray<T>(length: number): T[] {
  return new Array<T>(length);
}

/** A gauge or sum point whose value is updated in place (DataPoint's fields are read-only). */
interface Point {
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  value: number;
}

/**
 * Per process (keyed by the identity object the sampler keeps per live PID, so entries go away with
 * the process): its attribute sets and, per metric, the points of the last collect, whose values and
 * times are updated in place at the next one. A collect hands its points to a reader that encodes or
 * serializes them at once and keeps none, so reusing them is safe; building them anew cost ~3 KB of
 * objects per process and collect (at 10,000 processes, 28 MB per /metrics scrape, all of it alive
 * until the text was written and so promoted to the old generation). A reader must not hold a
 * collection across an await: the next collect writes newer values into the same points (two
 * /metrics scrapes at once may both write the newer values, each page still whole and valid).
 */
interface CachedPoints {
  base: Attributes;
  /** the derived sets by `key=value`, shared by the metrics split the same way (state of cpu.time and cpu.utilization) */
  split: Map<string, Attributes>;
  /** per definition, the points of the last collect (undefined before the first) */
  points: Array<Point[] | undefined>;
  startTime: HrTime;
  endTime: HrTime;
}

export function createProcessMetricProducer(options: ProcessProducerOptions): MetricProducer {
  const selection = options.selection ?? defaultSelection();
  const definitions = PROCESS_METRICS.filter((definition) => selection.metrics.has(definition.name));
  const descriptors = definitions.map((definition) => descriptorOf(definition, options.naming));
  const cache = new WeakMap<object, CachedPoints>();
  const read: number[] = [];
  // Per definition, the points of every process: the same arrays at every collect, like the points.
  // Made anew, these arrays of 10,000-30,000 points lived through the scrape, were promoted, then died old.
  const dataPoints: Point[][] = definitions.map(() => []);

  const cachedOf = (entry: SampledProcess): CachedPoints => {
    let cached = cache.get(entry.identity);
    if (!cached) {
      cached = {
        base: processAttributes(entry, options.simulationPrefix, selection.attributes),
        split: new Map(),
        points: new Array(definitions.length).fill(undefined),
        startTime: [0, 0],
        endTime: [0, 0],
      };
      cache.set(entry.identity, cached);
    }
    return cached;
  };

  const attributesOf = (
    cached: CachedPoints,
    splitKey: string | undefined,
    splitValue: string | undefined,
  ) => {
    if (splitKey === undefined || splitValue === undefined) return cached.base;
    const key = `${splitKey}=${splitValue}`;
    let attributes = cached.split.get(key);
    if (!attributes) {
      attributes = deriveAttributes(cached.base, splitKey, splitValue);
      cached.split.set(key, attributes);
    }
    return attributes;
  };

  return {
    async collect(): Promise<CollectionResult> {
      const lengths: number[] = new Array(definitions.length).fill(0);
      for (const source of processesToSend(options))
        for (const entry of source.values()) {
          const cached = cachedOf(entry);
          setHrTime(cached.startTime, entry.sample.startTimeMs);
          setHrTime(cached.endTime, entry.sample.readAtMs);
          for (let d = 0; d < definitions.length; d++) {
            const definition = definitions[d] as ProcessMetricDefinition;
            const count = definition.read(entry.sample, entry.sample.readAtMs, read);
            let points = cached.points[d];
            if (points === undefined || points.length !== count) {
              points = exactArray<Point>(count);
              for (let i = 0; i < count; i++) {
                points[i] = {
                  startTime: cached.startTime,
                  endTime: cached.endTime,
                  attributes: attributesOf(cached, definition.split?.key, definition.split?.values[i]),
                  value: read[i] as number,
                };
              }
              cached.points[d] = points;
            } else {
              for (let i = 0; i < count; i++) (points[i] as Point).value = read[i] as number;
            }
            const out = dataPoints[d] as Point[];
            let length = lengths[d] as number;
            for (let i = 0; i < points.length; i++) out[length++] = points[i] as Point;
            lengths[d] = length;
          }
        }
      for (let d = 0; d < definitions.length; d++) (dataPoints[d] as Point[]).length = lengths[d] as number;
      const metrics = definitions.map((definition, d) =>
        metricData(definition, descriptors[d] as MetricDescriptor, dataPoints[d] as Point[]),
      );
      return {
        resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: options.scope, metrics }] },
        errors: [],
      };
    },
  };
}

/**
 * `ms` since the epoch into an existing HrTime: the arithmetic of the core package's millisToHrTime,
 * written here because that one returns a new array and the points keep theirs.
 */
export function setHrTime(time: HrTime, ms: number): void {
  time[0] = Math.trunc(ms / 1e3);
  time[1] = Math.round((ms % 1e3) * 1e6);
}

/**
 * The process metrics in the hostmetrics receiver's shape: one ResourceMetrics per process, its Resource
 * the SDK's (service, host) with the process's attributes and the simulation attributes over it, its
 * data points carrying only the attribute that splits a metric (state, direction, type). Metrics a
 * process has no value of (utilization on its first reading) are left out of its ResourceMetrics. The
 * same processes as the producer's (`fresh`, then the departed ones when asked), read once per call.
 *
 * Each is a ProcessResourceMetrics that writes its own bytes from the reading when the request is
 * encoded (otlp-process-encoding.ts): a process keeps only its Resource here, not its data points.
 * Its `scopeMetrics`, the SDK's objects, are built anew when asked (a test, or a process too large for
 * one request).
 */
export function createProcessResourceSource(
  options: ProcessProducerOptions,
): (sdkResource: Resource) => ProcessResourceMetrics[] {
  const selection = options.selection ?? defaultSelection();
  const definitions = PROCESS_METRICS.filter((definition) => selection.metrics.has(definition.name)).map(
    (definition) => ({
      definition,
      descriptor: descriptorOf(definition, options.naming),
      // One attributes object per split value, shared by every process's points.
      pointAttributes: definition.split
        ? definition.split.values.map((value) => ({ [definition.split?.key as string]: value }))
        : [{}],
    }),
  );
  /**
   * Per process (keyed by the identity object the sampler keeps per live PID, so entries go away with
   * the process): its Resource, made once per SDK Resource.
   */
  interface Cached {
    sdkResource: Resource;
    resource: Resource;
  }
  const cache = new WeakMap<object, Cached>();
  const resourceOf = (entry: SampledProcess, sdkResource: Resource): Resource => {
    const cached = cache.get(entry.identity);
    if (cached && cached.sdkResource === sdkResource) return cached.resource;
    const resource = processResource(
      sdkResource,
      processAttributes(entry, options.simulationPrefix, selection.attributes),
    );
    cache.set(entry.identity, { sdkResource, resource });
    return resource;
  };
  // The values of one process, per definition, and how many each has: reused for every process.
  const values: number[][] = definitions.map(() => []);
  const counts: number[] = new Array(definitions.length).fill(0);
  const readValues = (sample: ProcessSample) => {
    for (let d = 0; d < definitions.length; d++)
      counts[d] = (definitions[d] as (typeof definitions)[number]).definition.read(
        sample,
        sample.readAtMs,
        values[d] as number[],
      );
    return { values, counts };
  };
  const templates = new ShapeTemplates(definitions.length, (shapeCounts, shapeValues, times) =>
    build(shapeCounts, shapeValues, times),
  );
  const encoding: ProcessEncoding = {
    readValues,
    scopeMetricsOf(sample) {
      readValues(sample);
      const times = {
        startTime: millisToHrTime(sample.startTimeMs),
        endTime: millisToHrTime(sample.readAtMs),
      };
      return build(counts, values, times);
    },
  };

  return (sdkResource) => {
    const resources: ProcessResourceMetrics[] = [];
    for (const source of processesToSend(options))
      for (const entry of source.values()) {
        readValues(entry.sample);
        const key = templates.key(counts);
        if (key === 0) continue; // no metric has a value
        resources.push(
          new ProcessResourceMetrics(
            resourceOf(entry, sdkResource),
            entry.sample,
            encoding,
            templates.get(key, counts),
          ),
        );
      }
    return resources;
  };

  /** The ScopeMetrics of a process: the metrics with values, one point per value, sharing its times. */
  function build(
    shapeCounts: readonly number[],
    shapeValues: readonly number[][],
    times: { startTime: HrTime; endTime: HrTime },
  ): ScopeMetrics[] {
    let withValues = 0;
    for (let d = 0; d < definitions.length; d++) if ((shapeCounts[d] as number) > 0) withValues++;
    const metrics = exactArray<MetricData>(withValues);
    let m = 0;
    for (let d = 0; d < definitions.length; d++) {
      const { definition, descriptor, pointAttributes } = definitions[d] as (typeof definitions)[number];
      const read = shapeValues[d] as number[];
      const count = shapeCounts[d] as number;
      if (count === 0) continue;
      const dataPoints = exactArray<Point>(count);
      for (let i = 0; i < count; i++) {
        dataPoints[i] = {
          startTime: times.startTime,
          endTime: times.endTime,
          attributes: pointAttributes[i] as Attributes,
          value: read[i] as number,
        };
      }
      metrics[m++] = metricData(definition, descriptor, dataPoints);
    }
    return metrics.length === 0 ? [] : [{ scope: options.scope, metrics }];
  }
}
