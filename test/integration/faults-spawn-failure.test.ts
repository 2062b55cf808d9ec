import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnChild, type TestChild } from '../helpers/children.ts';
import { workersOf } from '../helpers/proc.ts';
import { scrape } from '../helpers/prom-text.ts';
import { requireRoot, requireToolsForOthers } from '../helpers/require.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';
import { waitUntil } from '../helpers/wait.ts';

// RLIMIT_NPROC binds only unprivileged users, so the simulator runs as `nobody` under a limit of its
// own. Once it is ramping it is stopped (SIGSTOP), a filler of the same user takes every task left under
// that limit, and the simulator, continued, fails its next fork with EAGAIN halfway through the ramp. The
// stop makes the order certain: a ramp left running could finish before the filler has filled anything.
const NOBODY = 65534;
const PLANNED = 600;

/** Tasks (threads included) on the machine now. */
function machineTasks(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[1]);
}

/** The metrics URL the simulator logs when it is ready. */
const metricsUrlIn = (log: string) => /process-simulator ready metrics=(\S+)/.exec(log)?.[1];

/** Samples the simulator has taken so far, from the count of its sample-duration histogram. */
async function samplesTaken(url: string): Promise<number> {
  const samples = [...(await scrape(url)).values()].flatMap((family) => family.samples);
  const count = samples.find((sample) => sample.name === 'simulator_sample_duration_seconds_count');
  assert.ok(count, `${url} has no simulator_sample_duration_seconds_count`);
  return count.value;
}

/** PIDs with a process_threads series on the page. */
async function pidsOn(url: string): Promise<number[]> {
  const family = (await scrape(url)).get('process_threads');
  return (family?.samples ?? []).map((sample) => Number(sample.labels.process_pid)).sort((a, b) => a - b);
}

describe('a spawn failure halfway through the ramp (EAGAIN)', () => {
  let dir: string | undefined;
  let simulator: TestChild | undefined;
  let filler: TestChild | undefined;
  after(async () => {
    if (simulator && !simulator.exited()) process.kill(simulator.pid, 'SIGCONT');
    await filler?.stop(500);
    await simulator?.stop(5000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stops the ramp, reports it, and keeps what runs healthy', async () => {
    requireRoot('run the simulator as another user, whose task limit binds');
    const [setpriv, prlimit, python3] = requireToolsForOthers('setpriv', 'prlimit', 'python3');
    const runtime = mkdtempSync(join(tmpdir(), 'psim-eagain-'));
    dir = runtime;
    chownSync(runtime, NOBODY, NOBODY);
    // The engine refuses a run above 90 % of the limit counted over the whole machine; leave room.
    const limit = Math.ceil((machineTasks() + 2 * PLANNED + 400) / 0.9);
    const asNobody = [
      setpriv,
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      prlimit,
      `--nproc=${limit}:${limit}`,
      '--',
    ];
    const env = {
      ...process.env,
      TMPDIR: runtime,
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: String(PLANNED),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
      OTEL_METRICS_EXPORTER: 'none',
      // sampling every half second, so that "healthy" can be read off two fresh samples
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      LOG_LEVEL: 'info',
    };
    const child = spawnChild(asNobody[0] as string, [...asNobody.slice(1), process.execPath, MAIN], env);
    simulator = child;
    // setpriv and prlimit exec in place: the PID is the simulator's.
    assert.ok(
      await waitUntil(() => child.exited() || workersOf(child.pid).length >= 30, 20_000, 10),
      child.log(),
    );
    process.kill(child.pid, 'SIGSTOP');
    const beforeFill = workersOf(child.pid).length;
    assert.ok(
      beforeFill < PLANNED,
      `the ramp finished (${beforeFill} of ${PLANNED}) before it could be stopped`,
    );
    const fill = `
import threading, time
threading.stack_size(65536)
n = 0
try:
    while True:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        n += 1
except RuntimeError:
    pass
print(n, flush=True)
time.sleep(60)
`;
    const stuffer = spawnChild(
      asNobody[0] as string,
      [...asNobody.slice(1), python3, '-c', fill],
      process.env,
    );
    filler = stuffer;
    // The filler prints how many threads it made once a new one is refused: the limit is full.
    assert.ok(
      await waitUntil(() => /^\d+\n/m.test(stuffer.log()) || stuffer.exited(), 20_000),
      `the filler did not fill the limit:\n${stuffer.log()}`,
    );
    assert.equal(stuffer.exited(), false, `the filler died:\n${stuffer.log()}`);
    process.kill(child.pid, 'SIGCONT');
    assert.ok(
      await waitUntil(() => /RampStopped/.test(child.log()) || child.exited(), 20_000),
      `no RampStopped:\n${child.log()}`,
    );
    await stuffer.stop(500);
    filler = undefined;

    assert.equal(child.exited(), false, `the simulator died:\n${child.log()}`);
    const log = child.log();
    assert.match(log, /RampStopped.*(EAGAIN|Resource temporarily unavailable)/);
    const running = workersOf(child.pid).sort((a, b) => a - b);
    assert.ok(
      running.length >= beforeFill && running.length < PLANNED,
      `${running.length} of ${PLANNED} running (${beforeFill} before the filler)`,
    );
    assert.match(log, new RegExp(`simulation running.*ramp stopped after ${running.length} of ${PLANNED}`));
    // Healthy: the processes that started stay up and the simulator goes on sampling and serving them.
    // Two samples taken after the ramp stopped show both, whatever the machine's speed.
    const url = metricsUrlIn(log);
    assert.ok(url, `no metrics URL in the log:\n${log}`);
    const taken = await samplesTaken(url);
    assert.ok(
      await waitUntil(async () => (await samplesTaken(url)) >= taken + 2, 20_000, 100),
      'two more samples',
    );
    assert.deepEqual(await pidsOn(url), running, 'every running process on /metrics, and only those');
    assert.deepEqual(
      workersOf(child.pid).sort((a, b) => a - b),
      running,
      'the same processes still run',
    );

    const exited = new Promise<number | null>((resolve) =>
      child.process.once('exit', (code) => resolve(code)),
    );
    process.kill(child.pid, 'SIGTERM');
    assert.equal(await exited, 0, child.log());
    assert.deepEqual(workersOf(child.pid), []);
  });
});
