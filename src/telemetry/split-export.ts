/**
 * Splits one collection into requests that stay under a size budget. The collector's OTLP receiver
 * refuses gRPC messages over 4 MiB by default (after decompression, so gzip does not help), and 10,000
 * processes make ~90,000 data points, ~25 MB. Each request is a valid ResourceMetrics on its own.
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** Rough protobuf size of a data point: fixed fields plus each attribute's key and value. */
function pointBytes(attributes: Attributes): number {
  let bytes = 40;
  for (const key in attributes) {
    const value = attributes[key];
    bytes += key.length + (typeof value === 'string' ? value.length : 10) + 8;
  }
  return bytes;
}

/**
 * Chunks of `resourceMetrics`, each estimated at most `maxBytes`.
 * @param maxBytes size budget per request @default 2 MiB (half the collector's limit: the estimate is rough)
 */
export function splitResourceMetrics(
  resourceMetrics: ResourceMetrics,
  maxBytes = 2 * 1024 * 1024,
): ResourceMetrics[] {
  const chunks: ResourceMetrics[] = [];
  let current: ResourceMetrics = { resource: resourceMetrics.resource, scopeMetrics: [] };
  let currentBytes = 0;
  const flush = () => {
    if (current.scopeMetrics.length > 0) chunks.push(current);
    current = { resource: resourceMetrics.resource, scopeMetrics: [] };
    currentBytes = 0;
  };
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      const points = metric.dataPoints as ReadonlyArray<{ attributes: Attributes }>;
      let batch: Array<{ attributes: Attributes }> = [];
      for (const point of points) {
        const bytes = pointBytes(point.attributes);
        if (currentBytes + bytes > maxBytes && currentBytes > 0) {
          if (batch.length > 0) appendMetric(current, scope, { ...metric, dataPoints: batch } as MetricData);
          batch = [];
          flush();
        }
        batch.push(point);
        currentBytes += bytes;
      }
      if (batch.length > 0 || points.length === 0)
        appendMetric(current, scope, { ...metric, dataPoints: batch } as MetricData);
      currentBytes += 100;
    }
  }
  flush();
  return chunks;
}

function appendMetric(
  target: ResourceMetrics,
  scope: ResourceMetrics['scopeMetrics'][number]['scope'],
  metric: MetricData,
): void {
  const last = target.scopeMetrics.at(-1);
  if (last && last.scope === scope) last.metrics.push(metric);
  else target.scopeMetrics.push({ scope, metrics: [metric] });
}
