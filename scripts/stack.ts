/**
 * `npm run stack [-- run flags]`: the local pipeline without Docker. Starts the bundled collector
 * (otel-collector/config.yaml), a Prometheus scraping it and the simulator, all on loopback, prints
 * where each listens and how to verify the pipeline, and stops all three on Ctrl-C or SIGTERM: the
 * simulator first (it stops its processes and flushes its last export), then Prometheus, then the
 * collector, each by its process group, SIGKILL after a grace period.
 *
 * Each child runs in a process group of its own (a terminal's Ctrl-C reaches only this script, which
 * stops them in order) and, where util-linux's setpriv is installed, dies with this script should it
 * be killed outright (parent-death signal). Prometheus's config and data live in a private temporary
 * directory removed at the end. Ports move through the environment (see README, "Testing a pipeline
 * with it").
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const root = join(import.meta.dirname, '..');
const env = process.env;
const number = (name: string, fallback: number) => {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) > 65_535)
    throw new Error(`${name} must be a port number, got ${JSON.stringify(text)}`);
  return Number(text);
};
const ports = {
  OTLP_GRPC_PORT: number('OTLP_GRPC_PORT', 4317),
  OTLP_HTTP_PORT: number('OTLP_HTTP_PORT', 4318),
  PROM_EXPORTER_PORT: number('PROM_EXPORTER_PORT', 8889),
  COLLECTOR_TELEMETRY_PORT: number('COLLECTOR_TELEMETRY_PORT', 8988),
  PROMETHEUS_PORT: number('PROMETHEUS_PORT', 9090),
  METRICS_PORT: number('METRICS_PORT', 8888),
  CONTROL_PORT: number('CONTROL_PORT', 8090),
};
const scrapeInterval = env.STACK_SCRAPE_INTERVAL || '5s';
if (!/^\d+(ms|s|m)$/.test(scrapeInterval))
  throw new Error(
    `STACK_SCRAPE_INTERVAL must be a Prometheus duration such as 5s, got ${JSON.stringify(scrapeInterval)}`,
  );
const HOST = '127.0.0.1';

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
  log(): string;
}

const children: Child[] = [];
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;

/** Starts `command` in a process group of its own; its output is kept (the simulator's is shown). */
function start(
  name: string,
  command: string,
  args: string[],
  extraEnv: Record<string, string>,
  show = false,
): Child {
  const [file, argv] = hasSetpriv
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, args];
  const child = spawn(file, argv, {
    cwd: root,
    env: { ...env, ...extraEnv },
    detached: true,
    stdio: ['ignore', show ? 'inherit' : 'pipe', show ? 'inherit' : 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-16_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      log += `\n${error.message}`;
      resolve();
    });
  });
  const entry = { name, process: child, exited, log: () => log };
  children.push(entry);
  return entry;
}

const running = (child: Child) => child.process.exitCode === null && child.process.signalCode === null;

async function waitUntil(
  what: string,
  child: Child,
  timeoutMs: number,
  ready: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running(child)) throw new Error(`${child.name} exited while starting:\n${child.log().slice(-4000)}`);
    if (await ready()) return;
    await delay(200);
  }
  throw new Error(`${what} not ready within ${timeoutMs / 1000} s:\n${child.log().slice(-4000)}`);
}

const answers = async (url: string) =>
  (await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok === true;

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once it exited. */
async function stopChild(child: Child, graceMs: number): Promise<void> {
  if (!running(child) || child.process.pid === undefined) return;
  const group = -child.process.pid;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(group, name);
    } catch {
      // the group is gone already
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

let stopping: Promise<void> | undefined;
let dir: string | undefined;
/** Stops what runs, the simulator first; removes Prometheus's directory. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    const byName = (name: string) => children.find((child) => child.name === name);
    for (const [name, grace] of [
      ['simulator', 30_000],
      ['prometheus', 10_000],
      ['collector', 10_000],
    ] as const) {
      const child = byName(name);
      if (child) await stopChild(child, grace);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  })();
  return stopping;
}

async function main(): Promise<number> {
  const collectorBinary = join(root, 'otel-collector', 'build', 'otelcol-process-simulator');
  try {
    accessSync(collectorBinary, constants.X_OK);
  } catch {
    process.stderr.write('stack: building the bundled collector first (npm run collector:build)\n');
    const build = spawnSync('bash', [join(root, 'scripts', 'collector-build.sh')], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('the collector build failed');
  }
  if (spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status !== 0)
    throw new Error('prometheus is not on PATH: install it (Debian: apt-get install prometheus)');

  dir = mkdtempSync(join(tmpdir(), 'process-simulator-stack-'));
  const prometheusConfig = join(dir, 'prometheus.yml');
  writeFileSync(
    prometheusConfig,
    [
      'global:',
      `  scrape_interval: ${scrapeInterval}`,
      `  scrape_timeout: ${scrapeInterval}`,
      'scrape_configs:',
      '  - job_name: collector',
      '    static_configs:',
      `      - targets: ['${HOST}:${ports.PROM_EXPORTER_PORT}']`,
      '  - job_name: simulator',
      '    static_configs:',
      `      - targets: ['${HOST}:${ports.METRICS_PORT}']`,
      '',
    ].join('\n'),
  );

  const collector = start(
    'collector',
    collectorBinary,
    ['--config', join(root, 'otel-collector', 'config.yaml')],
    {
      COLLECTOR_LISTEN_HOST: HOST,
      OTLP_GRPC_PORT: String(ports.OTLP_GRPC_PORT),
      OTLP_HTTP_PORT: String(ports.OTLP_HTTP_PORT),
      PROM_EXPORTER_PORT: String(ports.PROM_EXPORTER_PORT),
      COLLECTOR_TELEMETRY_PORT: String(ports.COLLECTOR_TELEMETRY_PORT),
    },
  );
  await waitUntil('the collector', collector, 30_000, () => collector.log().includes('Everything is ready'));

  const prometheusUrl = `http://${HOST}:${ports.PROMETHEUS_PORT}`;
  const prometheus = start(
    'prometheus',
    'prometheus',
    [
      `--config.file=${prometheusConfig}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${HOST}:${ports.PROMETHEUS_PORT}`,
      '--log.level=warn',
    ],
    {},
  );
  await waitUntil('Prometheus', prometheus, 30_000, () => answers(`${prometheusUrl}/-/ready`));

  const apiUrl = `http://${HOST}:${ports.CONTROL_PORT}`;
  const simulator = start(
    'simulator',
    process.execPath,
    [
      '--max-semi-space-size=16',
      '--heap-growing-percent=50',
      '--liftoff-only',
      join(root, 'src', 'main.ts'),
      'run',
      ...process.argv.slice(2),
    ],
    {
      MALLOC_MMAP_THRESHOLD_: '131072',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${HOST}:${ports.OTLP_GRPC_PORT}`,
      METRICS_HOST: HOST,
      METRICS_PORT: String(ports.METRICS_PORT),
      CONTROL_HOST: HOST,
      CONTROL_PORT: String(ports.CONTROL_PORT),
    },
    true,
  );
  await waitUntil('the simulator', simulator, 120_000, () => answers(`${apiUrl}/health`));

  const pids = children.map((child) => `${child.name} ${child.process.pid}`).join(', ');
  process.stdout.write(
    [
      '',
      `stack: ready (pids: ${pids})`,
      `  simulator dashboard and API   ${apiUrl}/`,
      `  simulator /metrics            http://${HOST}:${ports.METRICS_PORT}/metrics`,
      `  collector OTLP/gRPC           ${HOST}:${ports.OTLP_GRPC_PORT} (OTLP/HTTP ${HOST}:${ports.OTLP_HTTP_PORT})`,
      `  collector /metrics            http://${HOST}:${ports.PROM_EXPORTER_PORT}/metrics`,
      `  Prometheus                    ${prometheusUrl}  (jobs collector and simulator, every ${scrapeInterval})`,
      'verify the pipeline:',
      `  npx process-simulator verify --simulator ${apiUrl} --prometheus ${prometheusUrl} --selector 'job="collector"' -e otel-collector/pipelines/passthrough.expect.yaml --wait 2m`,
      'Ctrl-C stops all three.',
      '',
    ].join('\n'),
  );
  // Runs until a signal, or until one of the three ends on its own (the simulation completed, a crash).
  const ended = await Promise.race(children.map((child) => child.exited.then(() => child)));
  if (!stopping) {
    process.stderr.write(
      `stack: ${ended.name} exited (${ended.process.exitCode ?? ended.process.signalCode}); stopping the others\n`,
    );
    if (ended.name !== 'simulator') process.stderr.write(`${ended.log().slice(-4000)}\n`);
    await stopAll();
    return ended.name === 'simulator' && ended.process.exitCode === 0 ? 0 : 1;
  }
  await stopping;
  return 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    process.stderr.write(`\nstack: ${signal}: stopping the simulator, Prometheus and the collector\n`);
    void stopAll();
  });
}

try {
  process.exitCode = await main();
} catch (error) {
  // A signal during start-up stops what started; that is no failure.
  const interrupted = stopping !== undefined;
  if (!interrupted) process.stderr.write(`stack: ${(error as Error).message}\n`);
  await stopAll();
  process.exitCode = interrupted ? 0 : 1;
}
