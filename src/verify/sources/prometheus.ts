/**
 * Reads what a pipeline delivered from a Prometheus-compatible query API (Prometheus, or anything that
 * speaks its HTTP API): one instant query per metric at one moment, the metric's type from the
 * metadata API, and when each process was last seen from a subquery over the lookback,
 * `max_over_time(timestamp(metric)[lookback:step])`, which gives per series the time of its last
 * sample, from which an exited process's linger follows.
 */
import { SourceError } from '../errors.ts';
import type { Observation, ObservedMetric } from '../observation.ts';
import { fetchJson, HttpStatusError, safeUrl } from './http.ts';

export interface PrometheusOptions {
  /** base URL of the query API, e.g. http://127.0.0.1:9090 */
  url: string;
  /** label matchers added to every query, e.g. job="collector" */
  selector?: string | undefined;
  /** per request @default 60000 */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface PrometheusRequest {
  /** downstream metric names to read */
  metrics: readonly string[];
  /** the metric whose last sample per series tells when a process was last seen */
  lingerMetric: string | undefined;
  /** how far back to follow series @default 5 minutes */
  lookbackMs?: number;
  /** evaluation time, epoch ms @default now */
  atMs?: number;
}

interface PromResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** The selector's matchers without braces; refused when it could escape the braces it goes in. */
export function normalizeSelector(selector: string | undefined): string {
  const inner = (selector ?? '')
    .trim()
    .replace(/^\{([\s\S]*)\}$/, '$1')
    .trim();
  if (/[{}]/.test(inner) || inner.length > 2048)
    throw new SourceError(
      'refused',
      'selector',
      `the selector must be label matchers such as job="collector" (no braces inside, at most 2048 characters), got ${JSON.stringify(selector)}`,
    );
  return inner;
}

export async function observePrometheus(
  options: PrometheusOptions,
  request: PrometheusRequest,
): Promise<Observation> {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new SourceError('refused', options.url, `not a URL: ${JSON.stringify(options.url)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new SourceError(
      'refused',
      options.url,
      `expected an http:// or https:// URL, got ${safeUrl(base)}`,
    );
  const selector = normalizeSelector(options.selector);
  const at = request.atMs ?? Date.now();
  const time = (at / 1000).toFixed(3);
  const lookbackS = Math.max(1, Math.round((request.lookbackMs ?? 5 * 60_000) / 1000));
  // About 600 evaluations per series at most; never finer than a second.
  const stepS = Math.max(1, Math.ceil(lookbackS / 600));

  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const url = new URL(path.replace(/^\//, ''), base.toString().endsWith('/') ? base : `${base}/`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const { status, body } = await fetchJson(url, {
      timeoutMs: options.timeoutMs ?? 60_000,
      headers: options.headers,
    });
    const answer = body as PromResponse<T> | undefined;
    if (status === 200 && answer?.status === 'success' && answer.data !== undefined) return answer.data;
    const reason = answer?.error ? `${answer.errorType ?? 'error'}: ${answer.error}` : `HTTP ${status}`;
    throw new HttpStatusError(
      safeUrl(url),
      status,
      body,
      `Prometheus at ${safeUrl(base)} refused ${path} (${reason})`,
    );
  };
  const instant = (query: string) =>
    api<{ resultType: string; result: Vector }>('/api/v1/query', { query, time });
  const select = (name: string) => `${name}{${selector}}`;

  const metrics = new Map<string, ObservedMetric>();
  for (const name of request.metrics) {
    const data = await instant(select(name));
    if (data.resultType !== 'vector')
      throw new SourceError('refused', safeUrl(base), `${name}: expected a vector, got ${data.resultType}`);
    if (data.result.length === 0) continue;
    type Metadata = Record<string, Array<{ type: string; unit: string }>>;
    const metadata = await api<Metadata>('/api/v1/metadata', { metric: name }).catch(
      (error: unknown): Metadata => {
        // Some Prometheus-compatible servers have no metadata API: the type is then not checked.
        if (error instanceof HttpStatusError && error.status === 404) return {};
        throw error;
      },
    );
    const described = metadata[name]?.[0];
    metrics.set(name, {
      name,
      type: described ? { kind: described.type, unit: described.unit || undefined } : undefined,
      series: data.result.map((entry) => {
        const { __name__: _name, ...labels } = entry.metric;
        return { labels, value: Number(entry.value[1]), pointTimeMs: undefined, startTimeMs: undefined };
      }),
    });
  }

  const lastSeen: Observation['lastSeen'] = [];
  if (request.lingerMetric) {
    const data = await instant(
      `max_over_time(timestamp(${select(request.lingerMetric)})[${lookbackS}s:${stepS}s])`,
    );
    for (const entry of data.result)
      lastSeen.push({
        labels: entry.metric,
        startTimeMs: undefined,
        lastSeenMs: Number(entry.value[1]) * 1000,
      });
  }

  // Names like the expected ones that are there instead: a pipeline that renamed a metric shows here.
  const prefixes = new Set(request.metrics.map((name) => name.split('_')[0] as string));
  const names = await api<string[]>('/api/v1/label/__name__/values', {}).catch(() => [] as string[]);
  const otherNames = names
    .filter((name) => prefixes.has(name.split('_')[0] as string) && !request.metrics.includes(name))
    .slice(0, 50);

  return {
    source: 'prometheus',
    location: safeUrl(base) + (selector ? ` {${selector}}` : ''),
    naming: 'prometheus',
    observedAtMs: at,
    readTimeKnown: false,
    metrics,
    lastSeen,
    lastSeenFromMs: at - lookbackS * 1000,
    lastSeenStepMs: stepS * 1000,
    otherNames,
    notes: [],
    overflow: { series: 0, points: 0 },
  };
}
