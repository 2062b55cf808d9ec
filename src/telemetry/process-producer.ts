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
import { type ProcessEncoding, ProcessResourceMetrics, ShapeTemplates } from './otlp-process-encoding.ts';
import {
  defaultSelection,
  type MetricSelection,
  PROCESS_METRICS,
  type ProcessMetricDefinition,
} from './process-metrics.ts';
import { processResource } from './process-resource.ts';
import { ProcessSeriesMetric } from './process-series.ts';

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
  /**
   * the attribute set of each process, shared by the producers of one telemetry (the /metrics labels
   * and the OTLP Resource of a process are made from one object) @default one of its own
   */
  attributesOf?: ProcessAttributesOf;
}

/** The attribute set of a process, made once (processAttributes) and the same object after. */
export type ProcessAttributesOf = (entry: SampledProcess) => Attributes;

/**
 * Each process's attribute set, kept by the identity object the sampler keeps per live PID, so that
 * it goes away with the process. Read-only: the Prometheus serializer keeps its labels by the object,
 * and a process's Resource holds it.
 */
export function processAttributesCache(
  prefix: string | undefined,
  keys: MetricSelection['attributes'] = defaultSelection().attributes,
): ProcessAttributesOf {
  const sets = new WeakMap<object, Attributes>();
  return (entry) => {
    let attributes = sets.get(entry.identity);
    if (attributes === undefined) {
      attributes = processAttributes(entry, prefix, keys);
      sets.set(entry.identity, attributes);
    }
    return attributes;
  };
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

/** A gauge or sum point as the SDK reads it (DataPoint's fields are read-only). */
interface Point {
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  value: number;
}

/**
 * The process metrics for a pull (/metrics) or the OTLP datapoint shape: one MetricData per metric over
 * every process, the process's attributes on each point. Each is a ProcessSeriesMetric: the Prometheus
 * serializer takes its points one at a time from the readings; other readers get the SDK's points. A
 * process keeps only its attribute set here (keyed by the identity object the sampler keeps per live
 * PID, so it goes away with the process), which the serializer keeps its labels by.
 */
export function createProcessMetricProducer(options: ProcessProducerOptions): MetricProducer {
  const selection = options.selection ?? defaultSelection();
  const definitions = PROCESS_METRICS.filter((definition) => selection.metrics.has(definition.name));
  const descriptors = definitions.map((definition) => descriptorOf(definition, options.naming));
  const attributesOf =
    options.attributesOf ?? processAttributesCache(options.simulationPrefix, selection.attributes);

  return {
    async collect(): Promise<CollectionResult> {
      const entries: SampledProcess[] = [];
      for (const source of processesToSend(options)) for (const entry of source.values()) entries.push(entry);
      const metrics = definitions.map((definition, d) =>
        new ProcessSeriesMetric(
          definition,
          descriptors[d] as MetricDescriptor,
          entries,
          attributesOf,
        ).asMetricData(),
      );
      return {
        resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: options.scope, metrics }] },
        errors: [],
      };
    },
  };
}

/**
 * The process metrics in the hostmetrics receiver's shape: one ResourceMetrics per process, its Resource
 * the SDK's (service, host) with the process's attributes and the simulation attributes over it, its
 * data points carrying only the attribute that splits a metric (state, direction, type). Metrics a
 * process has no value of (utilization on its first reading) are left out of its ResourceMetrics. The
 * same processes as the producer's (`fresh`, then the departed ones when asked), read once per call.
 *
 * The processes are those of the moment of the call (the first `next`); their items come one at a
 * time, each made when the request packer asks for it, so an export holds the request being filled,
 * not an object per process. A process's reading is the one its entry holds when it is written: the
 * sampler may have written a later one into it while earlier requests were sent (a slow collector).
 *
 * Each is a ProcessResourceMetrics that writes its own bytes from the reading when the request is
 * encoded (otlp-process-encoding.ts): a process keeps only its Resource here, not its data points.
 * Its `scopeMetrics`, the SDK's objects, are built anew when asked (a test, or a process too large for
 * one request).
 */
export function createProcessResourceSource(
  options: ProcessProducerOptions,
): (sdkResource: Resource) => Generator<ProcessResourceMetrics, void, undefined> {
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
  const attributesOf =
    options.attributesOf ?? processAttributesCache(options.simulationPrefix, selection.attributes);
  const resourceOf = (entry: SampledProcess, sdkResource: Resource): Resource => {
    const cached = cache.get(entry.identity);
    if (cached && cached.sdkResource === sdkResource) return cached.resource;
    const resource = processResource(sdkResource, attributesOf(entry));
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
    templateOf(sample) {
      readValues(sample);
      const key = templates.key(counts);
      return key === 0 ? undefined : templates.get(key, counts);
    },
    scopeMetricsOf(sample) {
      readValues(sample);
      const times = {
        startTime: millisToHrTime(sample.startTimeMs),
        endTime: millisToHrTime(sample.readAtMs),
      };
      return build(counts, values, times);
    },
  };

  return function* processResources(sdkResource) {
    const entries: SampledProcess[] = [];
    for (const source of processesToSend(options)) for (const entry of source.values()) entries.push(entry);
    for (const entry of entries) {
      const template = encoding.templateOf(entry.sample);
      if (template === undefined) continue; // no metric has a value
      yield new ProcessResourceMetrics(resourceOf(entry, sdkResource), entry.sample, encoding, template);
    }
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
