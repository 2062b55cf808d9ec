import type { PromFamily, PromSample } from './prom-text.ts';

/** Samples of one metric name (across families), optionally filtered by label values. */
export function samplesOf(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): PromSample[] {
  const result: PromSample[] = [];
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) result.push(sample);
    }
  }
  return result;
}
