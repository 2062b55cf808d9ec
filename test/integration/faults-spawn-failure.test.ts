import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnChild, type TestChild } from '../helpers/children.ts';
import { childrenOf } from '../helpers/proc.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';
import { waitUntil } from '../helpers/wait.ts';

// RLIMIT_NPROC binds only unprivileged users, so the simulator runs as `nobody` under a limit of its
// own; once it is ramping, a filler of the same user takes every task left under that limit, and the
// simulator's next fork fails with EAGAIN halfway through the ramp.
const NOBODY = 65534;
const PLANNED = 600;
const isRoot = process.getuid?.() === 0;
const missing = ['setpriv', 'prlimit', 'python3'].filter(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
);
const skip = !isRoot
  ? 'needs root to run the simulator as another user'
  : missing.length > 0
    ? `needs ${missing.join(', ')}`
    : false;

/** Tasks (threads included) on the machine now. */
function machineTasks(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[1]);
}

describe('a spawn failure halfway through the ramp (EAGAIN)', {
  skip,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-eagain-'));
  let simulator: TestChild | undefined;
  let filler: TestChild | undefined;
  after(async () => {
    await filler?.stop(500);
    await simulator?.stop(5000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops the ramp, reports it, and keeps what runs healthy', async () => {
    chownSync(dir, NOBODY, NOBODY);
    // The engine refuses a run above 90 % of the limit counted over the whole machine; leave room.
    const limit = Math.ceil((machineTasks() + 2 * PLANNED + 400) / 0.9);
    const asNobody = [
      'setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      'prlimit',
      `--nproc=${limit}:${limit}`,
      '--',
    ];
    const env = {
      ...process.env,
      TMPDIR: dir,
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: String(PLANNED),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
      OTEL_METRICS_EXPORTER: 'none',
      LOG_LEVEL: 'info',
    };
    const child = spawnChild(asNobody[0] as string, [...asNobody.slice(1), process.execPath, MAIN], env);
    simulator = child;
    // setpriv and prlimit exec in place: the PID is the simulator's.
    assert.ok(
      await waitUntil(() => child.exited() || childrenOf(child.pid).length >= 30, 20_000),
      simulator.log(),
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
    filler = spawnChild(asNobody[0] as string, [...asNobody.slice(1), 'python3', '-c', fill], process.env);
    assert.ok(
      await waitUntil(() => /RampStopped/.test(simulator?.log() ?? '') || !!simulator?.exited(), 20_000),
      `no RampStopped:\n${simulator.log()}`,
    );
    await filler.stop(500);
    filler = undefined;

    assert.equal(simulator.exited(), false, `the simulator died:\n${simulator.log()}`);
    const log = simulator.log();
    assert.match(log, /RampStopped.*(EAGAIN|Resource temporarily unavailable)/);
    const running = childrenOf(simulator.pid);
    assert.ok(running.length > 0 && running.length < PLANNED, `${running.length} of ${PLANNED} running`);
    assert.match(log, new RegExp(`simulation running.*ramp stopped after ${running.length} of ${PLANNED}`));
    // Healthy: the processes that started stay up, and the simulator goes on serving.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(childrenOf(simulator.pid).sort(), running.sort());

    const exited = new Promise<number | null>((resolve) =>
      simulator?.process.once('exit', (code) => resolve(code)),
    );
    process.kill(simulator.pid, 'SIGTERM');
    assert.equal(await exited, 0, simulator.log());
    assert.deepEqual(childrenOf(simulator.pid), []);
  });
});
