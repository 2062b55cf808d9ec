/**
 * The bundled collector accepts both shipped configs and really runs the OTLP -> Prometheus pipeline
 * on moved ports, turning the simulator's per-process data-point attributes into labels.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const binary = join(root, 'otel-collector', 'build', 'otelcol-process-simulator');
const config = join(root, 'otel-collector', 'config.yaml');
const hostmetrics = join(root, 'otel-collector', 'hostmetrics.yaml');

const READY_LINE = 'Everything is ready';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

function absentReason(): string | false {
  try {
    accessSync(binary, constants.X_OK);
    return false;
  } catch {
    return 'collector binary not built (otel-collector/build/otelcol-process-simulator); run: npm run collector:build';
  }
}
const skip = absentReason();

function validate(file: string): { status: number | null; output: string } {
  const result = spawnSync(binary, ['validate', '--config', file], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A port the kernel just handed out on loopback: free unless someone races us for it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string')
    throw new Error(`unexpected address: ${String(address)}`);
  return address.port;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the collector's process group, SIGKILL if it is still there after STOP_TIMEOUT_MS. */
async function stop(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await check()) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** One OTLP/HTTP JSON request shaped like the simulator's: one Resource, process identity on data points. */
function simulatorLikePayload(pid: number, name: string): string {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: string | number) => ({
    key,
    value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value },
  });
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [attr('service.name', 'process-simulator')] },
        scopeMetrics: [
          {
            scope: { name: 'process-simulator' },
            metrics: [
              {
                name: 'process.memory.usage',
                unit: 'By',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: false,
                  dataPoints: [
                    {
                      asInt: '1048576',
                      startTimeUnixNano: String(nowNs - 60_000_000_000n),
                      timeUnixNano: String(nowNs),
                      attributes: [
                        attr('process.pid', pid),
                        attr('process.executable.name', name),
                        attr('simulator.priority', 'high'),
                      ],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('bundled collector configs', { skip }, () => {
  test('config.yaml passes the collector’s own validation', () => {
    const { status, output } = validate(config);
    assert.equal(status, 0, output);
  });

  test('hostmetrics.yaml passes the collector’s own validation', () => {
    const { status, output } = validate(hostmetrics);
    assert.equal(status, 0, output);
  });

  test('runs on loopback with ports moved by env, serves /metrics, labels processes and stops cleanly', async () => {
    const ports = {
      OTLP_GRPC_PORT: await freePort(),
      OTLP_HTTP_PORT: await freePort(),
      PROM_EXPORTER_PORT: await freePort(),
      COLLECTOR_TELEMETRY_PORT: await freePort(),
    };
    const env: NodeJS.ProcessEnv = { ...process.env, COLLECTOR_LISTEN_HOST: '127.0.0.1' };
    for (const [name, port] of Object.entries(ports)) env[name] = String(port);

    let log = '';
    const child = spawn(binary, ['--config', config], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    after(() => stop(child));
    child.stdout.on('data', (chunk: Buffer) => (log += chunk));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk));
    const pid = child.pid;
    assert.ok(pid, 'collector did not start');

    await waitFor(`"${READY_LINE}" in the collector log`, START_TIMEOUT_MS, () => {
      if (child.exitCode !== null) throw new Error(`collector exited with ${child.exitCode}:\n${log}`);
      return log.includes(READY_LINE);
    });

    const metricsUrl = `http://127.0.0.1:${ports.PROM_EXPORTER_PORT}/metrics`;
    assert.equal((await fetch(metricsUrl)).status, 200);
    const telemetry = await fetch(`http://127.0.0.1:${ports.COLLECTOR_TELEMETRY_PORT}/metrics`);
    assert.equal(telemetry.status, 200);
    assert.match(await telemetry.text(), /otelcol_process_uptime/);

    const push = await fetch(`http://127.0.0.1:${ports.OTLP_HTTP_PORT}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: simulatorLikePayload(4242, 'nginx-worker'),
    });
    assert.equal(push.status, 200, await push.text());

    // The batch processor holds data up to its 5 s timeout before the exporter sees it.
    let body = '';
    await waitFor('the pushed series on /metrics', 15_000, async () => {
      body = await (await fetch(metricsUrl)).text();
      return body.includes('process_memory_usage_bytes{');
    });
    const line = body.split('\n').find((l) => l.startsWith('process_memory_usage_bytes{'));
    assert.ok(line, body);
    assert.match(line, /process_pid="4242"/);
    assert.match(line, /process_executable_name="nginx-worker"/);
    assert.match(line, /simulator_priority="high"/);
    assert.equal(Number(line.slice(line.lastIndexOf(' ') + 1)), 1_048_576);

    await stop(child);
    assert.equal(isAlive(pid), false, `collector ${pid} still running`);
    assert.match(log, /Shutdown complete/);
  });
});
