/**
 * A decoded OTLP ExportMetricsServiceRequest as @grpc/proto-loader hands it over with the options in
 * otlp-receiver.ts: camelCase fields (the OTLP/JSON names), 64-bit integers as decimal strings (exact;
 * nanosecond times exceed 2^53), enums as their names, and `data` / `value` naming the member of
 * each oneof that is set.
 */

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  bytesValue?: Buffer;
  value?: string;
}

export interface KeyValue {
  key: string;
  value?: AnyValue;
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  asDouble?: number;
  asInt?: string;
  value?: 'asDouble' | 'asInt';
}

/** Histograms, summaries: only their attributes and times matter here. */
export interface OtherDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count?: string;
}

export interface Metric {
  name: string;
  description: string;
  unit: string;
  data?: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
  gauge?: { dataPoints: NumberDataPoint[] };
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality: string; isMonotonic: boolean };
  histogram?: { dataPoints: OtherDataPoint[]; aggregationTemporality: string };
  exponentialHistogram?: { dataPoints: OtherDataPoint[]; aggregationTemporality: string };
  summary?: { dataPoints: OtherDataPoint[] };
}

export interface ExportMetricsServiceRequest {
  resourceMetrics: Array<{
    resource?: { attributes: KeyValue[] };
    scopeMetrics: Array<{ scope?: { name: string; version: string }; metrics: Metric[] }>;
  }>;
}
