/**
 * `npm run stack`: the bundled collector, a Prometheus scraping it and the simulator start on loopback,
 * the printed verify command passes against them, and Ctrl-C (SIGINT) stops all three and every
 * simulated process, exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/collector.ts';
import { freePorts } from '../helpers/ports.ts';
import { workersOf } from '../helpers/proc.ts';
import { differences, runVerify } from '../helpers/verify-cli.ts';
import { waitFor, waitUntil } from '../helpers/wait.ts';

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

test('npm run stack starts collector, Prometheus and simulator, verify passes, Ctrl-C stops everything', async () => {
  const [grpc, http, exporter, telemetry, prometheus, metrics, control] = (await freePorts(7)) as number[];
  const stack = spawn(
    process.execPath,
    [join(REPO_ROOT, 'scripts', 'stack.ts'), '-p', 'realistic', '-n', '6', '-s', '3', '--interval', '1000'],
    {
      env: {
        ...process.env,
        OTLP_GRPC_PORT: String(grpc),
        OTLP_HTTP_PORT: String(http),
        PROM_EXPORTER_PORT: String(exporter),
        COLLECTOR_TELEMETRY_PORT: String(telemetry),
        PROMETHEUS_PORT: String(prometheus),
        METRICS_PORT: String(metrics),
        CONTROL_PORT: String(control),
        STACK_SCRAPE_INTERVAL: '1s',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  stack.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  stack.stderr.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => stack.once('exit', (code) => resolve(code)));
  try {
    const ready = await waitFor(
      'stack: ready',
      { timeoutMs: 120_000, everyMs: 250, lastSeen: () => output.slice(-2000) },
      () => /stack: ready \(pids: collector (\d+), prometheus (\d+), simulator (\d+)\)/.exec(output),
    );
    const pids = ready.slice(1).map(Number);
    assert.ok(pids.every(alive));
    assert.match(output, new RegExp(`Prometheus +http://127\\.0\\.0\\.1:${prometheus} `));
    const command = /npx process-simulator verify (.+)\n/.exec(output)?.[1] ?? '';
    assert.match(command, new RegExp(`--prometheus http://127\\.0\\.0\\.1:${prometheus} `));

    const run = await runVerify([
      '--simulator',
      `http://127.0.0.1:${control}`,
      '--prometheus',
      `http://127.0.0.1:${prometheus}`,
      '--selector',
      'job="collector"',
      '-e',
      join(REPO_ROOT, 'otel-collector', 'pipelines', 'passthrough.expect.yaml'),
      '--wait',
      '60s',
      '--json',
    ]);
    assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);

    const workers = workersOf(pids[2] as number);
    assert.equal(workers.length, 6, 'the simulated processes');
    stack.kill('SIGINT');
    assert.equal(await exited, 0, output.slice(-3000));
    assert.ok(await waitUntil(() => ![...pids, ...workers].some(alive), 5000), 'nothing left running');
    assert.match(output, /stack: SIGINT: stopping/);
  } finally {
    if (stack.exitCode === null && stack.signalCode === null) {
      stack.kill('SIGTERM');
      await exited;
    }
  }
});
