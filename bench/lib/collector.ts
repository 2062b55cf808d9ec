/**
 * Runs the OpenTelemetry Collector's hostmetrics process scraper (the collector binary this project
 * builds) on the simulated processes and measures its CPU per scrape from /proc/<collector>/stat.
 * Its only exporter is `debug` at basic verbosity, so nearly all of its CPU is the scrape.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, rssBytes } from './proc.ts';
import { sleep } from './stats.ts';

export const COLLECTOR_BINARY = fileURLToPath(
  new URL('../../otel-collector/build/otelcol-process-simulator', import.meta.url),
);

export interface CollectorMeasurement {
  /** CPU seconds per scrape, one value per measured interval */
  cpuPerScrape: number[];
  /** collector RSS at the end, bytes */
  rss: number;
}

function config(namePattern: string, intervalSeconds: number): string {
  return `receivers:
  host_metrics:
    collection_interval: ${intervalSeconds}s
    scrapers:
      process:
        include:
          match_type: regexp
          names: ['${namePattern}']
        mute_process_name_error: true
        mute_process_exe_error: true
        mute_process_io_error: true
        mute_process_user_error: true
        mute_process_cgroup_error: true
        metrics:
          process.threads:
            enabled: true
          process.open_file_descriptors:
            enabled: true
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [host_metrics]
      exporters: [debug]
`;
}

/**
 * Scrapes processes whose comm matches `namePattern` (RE2) every `intervalSeconds`, skips the first
 * scrape (start-up), then reads the collector's CPU across `scrapes` intervals, one at a time.
 * Returns undefined when the collector binary has not been built.
 */
export async function measureCollector(
  namePattern: string,
  intervalSeconds: number,
  scrapes: number,
): Promise<CollectorMeasurement | undefined> {
  if (!existsSync(COLLECTOR_BINARY)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'psim-bench-collector-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, config(namePattern, intervalSeconds));
  const child = spawn(COLLECTOR_BINARY, ['--config', file], { stdio: 'ignore', detached: true });
  const pid = child.pid as number;
  try {
    // Past the first scrape (at start) and into the quiet part of the first interval.
    await sleep(intervalSeconds * 1000 * 0.5 + 2000);
    const cpuPerScrape: number[] = [];
    let before = cpuSeconds(pid);
    for (let i = 0; i < scrapes; i++) {
      await sleep(intervalSeconds * 1000);
      const now = cpuSeconds(pid);
      cpuPerScrape.push(now - before);
      before = now;
    }
    if (cpuPerScrape.some(Number.isNaN)) throw new Error('the collector exited during the measurement');
    return { cpuPerScrape, rss: rssBytes(pid) };
  } finally {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}
