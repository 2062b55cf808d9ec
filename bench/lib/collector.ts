/**
 * Runs the OpenTelemetry Collector's hostmetrics process scraper (the collector binary this project
 * builds) on the simulated processes and measures its CPU per scrape from /proc/<collector>/stat.
 * Its only exporter is `debug` at basic verbosity, so nearly all of its CPU is the scrape; the one line
 * that exporter logs per scrape says how many processes (one Resource each) the scrape found, which is
 * checked against the simulated count before anything is divided by it, one scrape per window.
 *
 * What the figure holds: the scraper's whole cost per scrape (listing every process on the host to
 * apply the include filter, reading status, cmdline, exe, the owner and the fd directory of the ones it
 * keeps, plus a fixed cost per scrape) divided by the processes it kept. It is what hostmetrics costs
 * for these processes, not the cost of reading the same files as the sampler.
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
  /** processes each measured scrape reported (its debug exporter's resource count) */
  processesPerScrape: number[];
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
      # info: the debug exporter's one line per scrape (its Resource count) is read back
      level: info
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
 * @throws Error when a window held other than one scrape, or a scrape found other than
 *   `expectedProcesses` processes
 */
export async function measureCollector(
  namePattern: string,
  intervalSeconds: number,
  scrapes: number,
  expectedProcesses: number,
): Promise<CollectorMeasurement | undefined> {
  if (!existsSync(COLLECTOR_BINARY)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'psim-bench-collector-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, config(namePattern, intervalSeconds));
  const child = spawn(COLLECTOR_BINARY, ['--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const pid = child.pid as number;
  /** Resource counts of the scrapes seen so far, in order */
  const reported: number[] = [];
  let pending = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const match = /"resource metrics": (\d+)/.exec(line);
      if (match) reported.push(Number(match[1]));
    }
  });
  try {
    // Past the first scrape (at start) and into the quiet part of the first interval.
    await sleep(intervalSeconds * 1000 * 0.5 + 2000);
    const cpuPerScrape: number[] = [];
    const processesPerScrape: number[] = [];
    let before = cpuSeconds(pid);
    let seen = reported.length;
    for (let i = 0; i < scrapes; i++) {
      await sleep(intervalSeconds * 1000);
      const now = cpuSeconds(pid);
      const windowScrapes = reported.slice(seen);
      seen = reported.length;
      if (windowScrapes.length !== 1) {
        throw new Error(
          `measured window ${i + 1} held ${windowScrapes.length} scrapes, not one: ${windowScrapes}`,
        );
      }
      const found = windowScrapes[0] as number;
      if (found !== expectedProcesses) {
        throw new Error(
          `the collector's include filter matched ${found} processes, not the ${expectedProcesses} simulated ones`,
        );
      }
      cpuPerScrape.push(now - before);
      processesPerScrape.push(found);
      before = now;
    }
    if (cpuPerScrape.some(Number.isNaN)) throw new Error('the collector exited during the measurement');
    return { cpuPerScrape, rss: rssBytes(pid), processesPerScrape };
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
