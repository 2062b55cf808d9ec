/**
 * The few statistics the estimators need: moments, a median, a least-squares line and the best split of
 * a sample into two levels. Hand-written because each is a few lines over plain arrays; a statistics
 * package would bring far more than these and none of the /proc-specific choices around them.
 */

export interface Moments {
  n: number;
  mean: number;
  /** population standard deviation */
  std: number;
  min: number;
  max: number;
}

/** n, mean, population standard deviation, min and max; all 0 for an empty sample. */
export function moments(values: readonly number[]): Moments {
  const n = values.length;
  if (n === 0) return { n: 0, mean: 0, std: 0, min: 0, max: 0 };
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { n, mean, std: Math.sqrt(squares / n), min, max };
}

/** The median (mean of the two middle values for an even count); 0 for an empty sample. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Line {
  /** change of y per unit of x */
  slope: number;
  /** y at x = 0 (far from the data when x is a time: use `at`) */
  intercept: number;
  /** y on the line at x, computed from the centre of the data, without the cancellation of `intercept` */
  at(x: number): number;
  /** share of the variance of y the line explains; 0 when y does not vary */
  r2: number;
  /** root-mean-square residual */
  rmse: number;
}

/**
 * Least-squares line through (x, y). x is centred before summing, so epoch milliseconds (1.7e12) do not
 * cost the precision that raw sums of their squares would.
 */
export function fitLine(x: readonly number[], y: readonly number[]): Line {
  const n = Math.min(x.length, y.length);
  if (n === 0) return { slope: 0, intercept: 0, at: () => 0, r2: 0, rmse: 0 };
  const mx = moments(x.slice(0, n)).mean;
  const my = moments(y.slice(0, n)).mean;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const sse = Math.max(0, syy - slope * sxy);
  return {
    slope,
    intercept: my - slope * mx,
    at: (at) => my + slope * (at - mx),
    r2: syy > 0 ? 1 - sse / syy : 0,
    rmse: Math.sqrt(sse / n),
  };
}

export interface TwoLevels {
  low: number;
  high: number;
  /** values at or above it belong to the high level */
  threshold: number;
  /** standard deviation of the values around their own level */
  withinStd: number;
  /** share of the variance the two levels explain */
  r2: number;
}

/**
 * The split of `values` into a low and a high group that leaves the least variance within the groups
 * (Otsu's method, exact over the sorted values); undefined when fewer than two distinct values.
 */
export function splitTwoLevels(values: readonly number[]): TwoLevels | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n < 2 || sorted[0] === sorted[n - 1]) return undefined;
  const prefix = [0];
  const prefixSquares = [0];
  for (const value of sorted) {
    prefix.push((prefix.at(-1) as number) + value);
    prefixSquares.push((prefixSquares.at(-1) as number) + value * value);
  }
  const total = prefix[n] as number;
  const totalSquares = prefixSquares[n] as number;
  const sst = moments(sorted).std ** 2 * n;
  let best = { sse: Number.POSITIVE_INFINITY, k: 1 };
  for (let k = 1; k < n; k++) {
    // Only split between distinct values: equal values belong to one level.
    if (sorted[k] === sorted[k - 1]) continue;
    const lowSum = prefix[k] as number;
    const highSum = total - lowSum;
    const sse =
      (prefixSquares[k] as number) -
      (lowSum * lowSum) / k +
      (totalSquares - (prefixSquares[k] as number)) -
      (highSum * highSum) / (n - k);
    if (sse < best.sse) best = { sse, k };
  }
  const low = (prefix[best.k] as number) / best.k;
  const high = (total - (prefix[best.k] as number)) / (n - best.k);
  // Summed again directly: the prefix-sum difference above loses digits when the levels are close.
  let sse = 0;
  for (let i = 0; i < n; i++) sse += ((sorted[i] as number) - (i < best.k ? low : high)) ** 2;
  return {
    low,
    high,
    threshold: sorted[best.k] as number,
    withinStd: Math.sqrt(sse / n),
    r2: sst > 0 ? 1 - sse / sst : 0,
  };
}
