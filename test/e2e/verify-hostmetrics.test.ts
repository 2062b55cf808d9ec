/**
 * The hostmetrics path: the collector's own process scraper (otel-collector/hostmetrics.yaml, filtered
 * to the simulated names) reads the simulated processes from /proc and feeds a real Prometheus;
 * `process-simulator verify` checks it against the simulation with the shipped expectations. Once for
 * a simulator in the collector's PID namespace (PIDs matched as they are), once for a simulator started
 * in a PID namespace of its own (`unshare --pid --fork --mount-proc`): the collector then reports PIDs
 * that are not the simulator's, and verify, on the collector's side, maps each one through
 * /proc/PID/status NSpid. Needs root for the namespace; without it this test fails, it does not skip.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  HOSTMETRICS_CONFIG,
  REPO_ROOT,
  type RunningCollector,
  startCollector,
} from '../helpers/collector.ts';
import { freePorts } from '../helpers/ports.ts';
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { differences, runVerify } from '../helpers/verify-cli.ts';
import { waitFor, waitUntil } from '../helpers/wait.ts';

const EXPECTATIONS = join(REPO_ROOT, 'otel-collector', 'hostmetrics.expect.yaml');
const MAIN = join(REPO_ROOT, 'src', 'main.ts');

/** Steady patterns: what the scraper reads between two of the simulator's readings is bracketed by them. */
const here = {
  name: 'hostmetrics-here',
  templates: [
    { name: 'hma-idle-{i}', count: 2, priority: 'high' as const, memory: 8, fds: 3 },
    { name: 'hma-busy', count: 1, priority: 'medium' as const, cpu: 5, memory: 16, threads: 4, fds: 20 },
  ],
};
const namespaced = {
  name: 'hostmetrics-namespaced',
  templates: [
    { name: 'hmb-idle-{i}', count: 2, priority: 'critical' as const, memory: 4, fds: 5 },
    { name: 'hmb-busy-{i}', count: 2, priority: 'low' as const, cpu: 3, memory: 12, threads: 3, fds: 9 },
  ],
};
const count = (profile: { templates: Array<{ count: number }> }) =>
  profile.templates.reduce((sum, template) => sum + template.count, 0);

/** Only the simulated names: on a host the shipped include list matches every process. */
const includeOnly = (pattern: string) =>
  `receivers:\n  host_metrics:\n    scrapers:\n      process:\n        include:\n          match_type: regexp\n          names: [${JSON.stringify(pattern)}]\n`;

interface NamespacedSimulator {
  url: string;
  child: ChildProcess;
  /** the simulator's PID as the test (outside its namespace) sees it */
  outerPid: () => number | undefined;
  stop(): Promise<void>;
}

/**
 * `process-simulator run` as PID 1 of a new PID namespace, with its own /proc, and its own temporary
 * directories as a container would have: its runtime files record PID 1 as their engine, which a
 * simulator outside that does not know of PID namespaces (an older version running beside) would take
 * for a dead engine and remove.
 */
async function startNamespaced(dir: string, port: number, metricsPort: number): Promise<NamespacedSimulator> {
  const profile = join(dir, 'namespaced.json');
  writeFileSync(profile, JSON.stringify(namespaced));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp, { mode: 0o700 });
  const child = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      '--',
      // a tmpfs of its own on /dev/shm, in the new mount namespace only; then the simulator as PID 1
      'sh',
      '-c',
      'mount -t tmpfs -o mode=1777,size=64m tmpfs /dev/shm && exec "$@"',
      'sh',
      process.execPath,
      '--max-semi-space-size=16',
      '--heap-growing-percent=50',
      '--liftoff-only',
      MAIN,
      'run',
      '--profile-file',
      profile,
      '--seed',
      '4',
    ],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        CONTROL_HOST: '127.0.0.1',
        CONTROL_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(metricsPort),
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        TMPDIR: tmp,
      },
    },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const outerPid = () => {
    try {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      return children ? Number(children.split(/\s+/)[0]) : undefined;
    } catch {
      return undefined;
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM to the simulator alone (PID 1 inside): it stops its children in order, then unshare exits.
    const pid = outerPid();
    if (pid) process.kill(pid, 'SIGTERM');
    if (!(await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 30_000, 100))) {
      process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    }
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `the namespaced simulator at ${url} running ${count(namespaced)} processes`,
      { timeoutMs: 60_000, everyMs: 250, lastSeen: () => log },
      async () => {
        if (child.exitCode !== null) throw new Error(`unshare exited with ${child.exitCode}: ${log}`);
        const answer = await fetch(`${url}/api/v1/simulations`).catch(() => undefined);
        if (!answer?.ok) return false;
        const { simulations } = (await answer.json()) as {
          simulations: Array<{ state: string; live_processes: number }>;
        };
        return simulations[0]?.state === 'running' && simulations[0].live_processes === count(namespaced);
      },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, child, outerPid, stop };
}

describe('verify the hostmetrics path, in the simulator’s PID namespace and from outside another', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-verify-hostmetrics-'));
  let collector: RunningCollector;
  let prometheus: RunningPrometheus;
  let simulator: TestSimulator;
  let inner: NamespacedSimulator;

  before(async () => {
    collector = await startCollector({
      base: HOSTMETRICS_CONFIG,
      env: { HOSTMETRICS_INTERVAL: '1s' },
      overrides: [includeOnly('^hm[ab]-'), 'processors:\n  batch:\n    timeout: 200ms\n'],
    });
    simulator = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    });
    await runProfile(simulator.sim, here, 3);
    const [port, metricsPort] = (await freePorts(2)) as [number, number];
    inner = await startNamespaced(dir, port, metricsPort);
    prometheus = await startPrometheus([{ job: 'hostmetrics', url: collector.metricsUrl }]);
    await waitFor(
      'both simulations’ processes in Prometheus',
      { timeoutMs: 30_000, everyMs: 500 },
      async () => {
        const seen = await prometheus.query('count(process_threads{job="hostmetrics"})');
        return seen[0]?.value === count(here) + count(namespaced);
      },
    );
  });

  after(async () => {
    await prometheus?.stop();
    await inner?.stop();
    await simulator?.sim.stop();
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a simulator in the collector’s PID namespace: passes, every process matched by its PID', async () => {
    const run = await runVerify([
      '--simulator',
      simulator.sim.api.url,
      '--prometheus',
      prometheus.url,
      '--selector',
      'job="hostmetrics",process_executable_name=~"hma-.*"',
      '-e',
      EXPECTATIONS,
      '--wait',
      '60s',
      '--json',
    ]);
    assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);
    assert.deepEqual(run.report?.matching.methods, { pid: count(here) });
    const values = run.report?.checks.find((check) => check.name === 'values');
    assert.ok((values?.checked ?? 0) >= count(here) * 9, JSON.stringify(values));
  });

  test('a simulator in its own PID namespace: the collector reports other PIDs, mapped through NSpid; passes', async () => {
    const list = (await (await fetch(`${inner.url}/api/v1/simulations`)).json()) as {
      simulations: Array<{ id: string }>;
    };
    const { processes } = (await (
      await fetch(`${inner.url}/api/v1/simulations/${list.simulations[0]?.id}/processes`)
    ).json()) as { processes: Array<{ pid: number; name: string }> };
    const reported = await prometheus.query('process_threads{process_executable_name=~"hmb-.*"}');
    const reportedPids = reported.map((sample) => Number(sample.metric.process_pid)).sort();
    const simulatorPids = processes.map((p) => p.pid).sort();
    assert.equal(reportedPids.length, count(namespaced));
    assert.ok(
      reportedPids.every((pid) => !simulatorPids.includes(pid)),
      `PIDs differ: ${reportedPids} vs ${simulatorPids}`,
    );

    const run = await runVerify([
      '--simulator',
      inner.url,
      '--prometheus',
      prometheus.url,
      '--selector',
      'job="hostmetrics",process_executable_name=~"hmb-.*"',
      '-e',
      EXPECTATIONS,
      '--wait',
      '60s',
      '--json',
    ]);
    assert.equal(run.code, 0, `${differences(run.report)}\n${run.stderr}`);
    assert.deepEqual(run.report?.matching.methods, { nspid: count(namespaced) });
    assert.match(run.report?.matching.note ?? '', /NSpid/);
    const values = run.report?.checks.find((check) => check.name === 'values');
    assert.ok((values?.checked ?? 0) >= count(namespaced) * 9, JSON.stringify(values));
  });
});
