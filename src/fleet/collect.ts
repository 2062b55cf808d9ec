/**
 * Reads each shard's ground truth over its API: the simulation it runs and its /results. A shard that
 * does not answer is data (reachable: false, with the reason), never an exception: the verdict names it.
 */

/** The part of a shard's /results the verdict uses (the rest is kept as it came). */
export interface ShardResults {
  simulation_id: string;
  name: string;
  profile: string;
  state: string;
  seed: number;
  shard: { index: number; count: number } | null;
  start_at: string | null;
  start_skew_ms: number | null;
  started_at: string | null;
  ended_at: string | null;
  processes: {
    planned: number;
    live: { total: number };
    peak: { total: number };
    started: { total: number; by_priority: Record<string, number> };
    exited: { total: number; by_reason: Record<string, { total: number }> };
  };
  series: { total: { current: number; peak: number } };
  warning: string | null;
  failure_reason: string | null;
  [key: string]: unknown;
}

export interface ShardReading {
  endpoint: string;
  reachable: boolean;
  /** why it could not be read */
  error?: string;
  results?: ShardResults;
}

export interface CollectOptions {
  /** sent as a bearer token (reads need none unless a proxy wants one) */
  token?: string | undefined;
  /** per request @default 5000 */
  timeoutMs?: number;
}

async function getJson(url: string, options: CollectOptions): Promise<unknown> {
  const response = await fetch(url, {
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    redirect: 'error',
  });
  if (!response.ok) throw new Error(`GET ${new URL(url).pathname} answered ${response.status}`);
  return response.json();
}

/**
 * The simulation of one shard: the one that carries a shard (the auto-started run), else the newest.
 * @returns a reading; never rejects
 */
export async function readShard(endpoint: string, options: CollectOptions = {}): Promise<ShardReading> {
  try {
    const { simulations } = (await getJson(`${endpoint}/api/v1/simulations`, options)) as {
      simulations: Array<{ id: string; shard: unknown; created_at: string }>;
    };
    if (!Array.isArray(simulations) || simulations.length === 0) {
      return { endpoint, reachable: true, error: 'it runs no simulation' };
    }
    const pick =
      simulations.find((simulation) => simulation.shard !== null && simulation.shard !== undefined) ??
      [...simulations].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))[0];
    const results = (await getJson(
      `${endpoint}/api/v1/simulations/${encodeURIComponent(pick?.id ?? '')}/results`,
      options,
    )) as ShardResults;
    return { endpoint, reachable: true, results };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { endpoint, reachable: false, error: cause ?? (error as Error).message };
  }
}

/** Every shard's reading, in parallel. */
export function readShards(
  endpoints: readonly string[],
  options: CollectOptions = {},
): Promise<ShardReading[]> {
  return Promise.all(endpoints.map((endpoint) => readShard(endpoint, options)));
}
