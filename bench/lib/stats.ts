/** Small statistics and formatting helpers for the benchmark's tables. */

/** Median of the values (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A number with `digits` significant decimals, thousands separated. */
export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export const MiB = 1024 * 1024;
export const KiB = 1024;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The median of repeated measurements with their range, so that a table shows how far they spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** how many measurements */
  n: number;
}

/** Median, least and greatest of `values`; NaN throughout when empty. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** `median (min-max)`, or the value alone when there was one measurement. */
export function fmtSpread(value: Spread | undefined, digits = 1): string {
  if (!value || value.n === 0) return '-';
  if (value.n === 1) return fmt(value.median, digits);
  return `${fmt(value.median, digits)} (${fmt(value.min, digits)}-${fmt(value.max, digits)})`;
}
