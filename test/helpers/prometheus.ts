/**
 * A real Prometheus server (the `prometheus` binary on PATH, Debian's package in CI) for tests: its own
 * scrape config, a temporary storage dir, a free loopback port, the HTTP query API; and `promtool
 * check metrics` on a /metrics page.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, type TestChild } from './children.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface ScrapeTarget {
  job: string;
  /** full /metrics URL */
  url: string;
}

export interface RunningPrometheus {
  readonly child: TestChild;
  /** base URL, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** an instant query; resolves with the result vector */
  query(promql: string): Promise<PromVectorSample[]>;
  /** scrape health per job, from /api/v1/targets */
  targets(): Promise<Array<{ job: string; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

export interface PromVectorSample {
  metric: Record<string, string>;
  value: number;
}

/**
 * Starts Prometheus scraping `targets` every `scrapeIntervalS` seconds and waits for /-/ready.
 * @throws Error naming the binary when it is not installed, or with its log when it does not start
 */
export async function startPrometheus(
  targets: ScrapeTarget[],
  scrapeIntervalS = 1,
): Promise<RunningPrometheus> {
  const version = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    throw new Error(
      `the prometheus binary is not on PATH (Debian package "prometheus"): ${version.error?.message ?? version.stderr}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'psim-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, scrapeConfig(targets, scrapeIntervalS));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnChild('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('Prometheus /-/ready', { timeoutMs: 30_000, everyMs: 200 }, async () => {
      if (child.exited()) throw new Error(`prometheus exited:\n${child.log()}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`GET ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    child,
    url,
    async query(promql) {
      const data = await api<{
        resultType: string;
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      if (data.resultType !== 'vector')
        throw new Error(`query ${promql} returned a ${data.resultType}, not a vector`);
      return data.result.map((entry) => ({ metric: entry.metric, value: Number(entry.value[1]) }));
    },
    async targets() {
      const data = await api<{
        activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }>;
      }>('/api/v1/targets');
      return data.activeTargets.map((target) => ({
        job: target.labels.job ?? '',
        health: target.health,
        lastError: target.lastError,
      }));
    },
    stop,
  };
}

function scrapeConfig(targets: ScrapeTarget[], intervalS: number): string {
  const jobs = targets.map((target) => {
    const url = new URL(target.url);
    return [
      `  - job_name: ${JSON.stringify(target.job)}`,
      `    metrics_path: ${JSON.stringify(url.pathname)}`,
      '    static_configs:',
      `      - targets: [${JSON.stringify(url.host)}]`,
    ].join('\n');
  });
  return [
    `global:`,
    `  scrape_interval: ${intervalS}s`,
    `  scrape_timeout: ${intervalS}s`,
    'scrape_configs:',
    ...jobs,
    '',
  ].join('\n');
}

/** `promtool check metrics` on a /metrics page: exit status and everything it printed. */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error)
    throw new Error(`cannot run promtool (Debian package "prometheus"): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
