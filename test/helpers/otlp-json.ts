/**
 * Reads what the collector's file exporter wrote (one OTLP/JSON ExportMetricsServiceRequest per line)
 * as flat data points, each with its Resource attributes, so two sources can be compared per process.
 */
import { existsSync, readFileSync } from 'node:fs';

export type AttributeValue = string | number | boolean;

export interface FlatPoint {
  resource: Record<string, AttributeValue>;
  metric: string;
  unit: string;
  /** sum, gauge, histogram, ... (the OTLP data field) */
  kind: string;
  monotonic: boolean | undefined;
  /** 1 delta, 2 cumulative */
  temporality: number | undefined;
  valueType: 'int' | 'double';
  attributes: Record<string, AttributeValue>;
  startMs: number;
  timeMs: number;
  value: number;
}

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

interface JsonPoint {
  attributes?: JsonKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asInt?: string | number;
  asDouble?: number;
}

interface JsonMetric {
  name: string;
  unit?: string;
  [kind: string]: unknown;
}

interface JsonRequest {
  resourceMetrics?: Array<{
    resource?: { attributes?: JsonKeyValue[] };
    scopeMetrics?: Array<{ metrics?: JsonMetric[] }>;
  }>;
}

function attributes(list: JsonKeyValue[] | undefined): Record<string, AttributeValue> {
  const result: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) result[key] = value.stringValue;
    else if (value.intValue !== undefined) result[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) result[key] = value.doubleValue;
    else if (value.boolValue !== undefined) result[key] = value.boolValue;
    else result[key] = '';
  }
  return result;
}

const nanosToMs = (nanos: string | undefined) =>
  nanos === undefined ? 0 : Number(BigInt(nanos) / 1_000_000n);

/** Every data point in the file so far; a last line still being written is ignored. */
export function readFilePoints(path: string): FlatPoint[] {
  if (!existsSync(path)) return [];
  const points: FlatPoint[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let request: JsonRequest;
    try {
      request = JSON.parse(line) as JsonRequest;
    } catch {
      continue;
    }
    for (const resourceMetrics of request.resourceMetrics ?? []) {
      const resource = attributes(resourceMetrics.resource?.attributes);
      for (const scope of resourceMetrics.scopeMetrics ?? []) {
        for (const metric of scope.metrics ?? []) {
          const kind =
            Object.keys(metric).find((key) => !['name', 'unit', 'description', 'metadata'].includes(key)) ??
            'unknown';
          const data = metric[kind] as
            | { dataPoints?: JsonPoint[]; isMonotonic?: boolean; aggregationTemporality?: number }
            | undefined;
          for (const point of data?.dataPoints ?? []) {
            points.push({
              resource,
              metric: metric.name,
              unit: metric.unit ?? '',
              kind,
              monotonic: kind === 'sum' ? (data?.isMonotonic ?? false) : undefined,
              temporality: data?.aggregationTemporality,
              // The JSON leaves out a zero value; an int point still says asInt, a double asDouble.
              valueType: point.asDouble !== undefined ? 'double' : 'int',
              attributes: attributes(point.attributes),
              startMs: nanosToMs(point.startTimeUnixNano),
              timeMs: nanosToMs(point.timeUnixNano),
              value: Number(point.asDouble ?? point.asInt ?? 0),
            });
          }
        }
      }
    }
  }
  return points;
}
