/**
 * What a pipeline delivered, whatever the source (a Prometheus query API or the OTLP sink): the series
 * of each expected metric with their labels and latest value, and when each downstream process was
 * last seen. The comparison reads only this.
 */

/** How names look downstream: OTLP (process.cpu.time, process.pid) or Prometheus (process_cpu_time_seconds_total, process_pid). */
export type Naming = 'otlp' | 'prometheus';

export interface ObservedSeries {
  /** every attribute (Resource and data point) or label, values as strings */
  labels: Readonly<Record<string, string>>;
  value: number;
  /** when the value was read upstream, when the data carries it (OTLP point time); else undefined */
  pointTimeMs: number | undefined;
  /** the cumulative start time, when the data carries it (OTLP); for a process, its start */
  startTimeMs: number | undefined;
}

/** How a metric is typed downstream, as far as the source can tell. */
export interface ObservedType {
  /** OTLP: sum, gauge, histogram, exponential_histogram, summary; Prometheus: counter, gauge, ... */
  kind: string;
  monotonic?: boolean;
  temporality?: 'cumulative' | 'delta' | 'unspecified';
  unit?: string;
  valueType?: 'int' | 'double';
}

export interface ObservedMetric {
  /** the downstream name */
  name: string;
  /** undefined when the source knows nothing about the type (Prometheus without metadata) */
  type: ObservedType | undefined;
  series: ObservedSeries[];
}

/** A downstream process identity and when it was last seen. */
export interface LastSeen {
  labels: Readonly<Record<string, string>>;
  startTimeMs: number | undefined;
  lastSeenMs: number;
}

export interface Observation {
  source: 'prometheus' | 'otlp-sink';
  /** the Prometheus URL or the sink's listen addresses */
  location: string;
  naming: Naming;
  /** the moment the observation describes, epoch ms */
  observedAtMs: number;
  /** true when points carry the time they were read (OTLP), false when only the scrape time is known */
  readTimeKnown: boolean;
  /** by downstream name; a metric absent downstream is absent here */
  metrics: Map<string, ObservedMetric>;
  /**
   * When each downstream process was last seen, from `lastSeenFromMs` on (Prometheus: the last sample
   * of one metric; the sink: the last request that carried it), to measure how long exited processes
   * lingered; `lastSeenStepMs` is the resolution of those times.
   */
  lastSeen: LastSeen[];
  lastSeenFromMs: number;
  lastSeenStepMs: number;
  /** downstream metric names that resemble the expected ones, to name a renamed metric */
  otherNames: string[];
  /** caveats of the source (a full sink, a lookback), added to the report */
  notes: string[];
  /** data the source could not keep (a full sink): the verification cannot vouch for it */
  overflow: { series: number; points: number };
}
