/**
 * LINGER: after its simulation ends, the simulator keeps serving the results (a fleet verdict collects
 * them from every shard), then exits with the run's code; a signal ends the wait at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnChild } from '../helpers/children.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';
import { waitFor } from '../helpers/wait.ts';

function start(linger: string) {
  return spawnChild(process.execPath, [MAIN, 'run', '-n', '2', '-d', '2s', '-s', '3'], {
    ...process.env,
    LINGER: linger,
    OTEL_METRICS_EXPORTER: 'none',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_PORT: '0',
  });
}

test('the results of a completed run stay readable for LINGER, then it exits 0', async () => {
  const child = start('4s');
  try {
    const api = (
      await waitFor('the API', { timeoutMs: 30_000, everyMs: 50 }, () =>
        /process-simulator ready .*api=(\S+)/.exec(child.log()),
      )
    )[1] as string;
    await waitFor('the end of the run', { timeoutMs: 20_000 }, () =>
      child.log().includes('serving its results'),
    );
    const { simulations } = (await (await fetch(`${api}/api/v1/simulations`)).json()) as {
      simulations: Array<{ id: string; state: string }>;
    };
    assert.equal(simulations[0]?.state, 'completed');
    const results = (await (
      await fetch(`${api}/api/v1/simulations/${simulations[0]?.id}/results`)
    ).json()) as {
      processes: { started: { total: number }; live: { total: number } };
    };
    assert.equal(results.processes.started.total, 2);
    assert.equal(results.processes.live.total, 0);
    const code = await new Promise<number | null>((resolve) => child.process.once('exit', resolve));
    assert.equal(code, 0, child.log());
    assert.match(child.log(), /then LINGER ended/);
  } finally {
    await child.stop();
  }
});

test('a signal ends the wait at once', async () => {
  const child = start('10m');
  try {
    await waitFor('the end of the run', { timeoutMs: 30_000 }, () =>
      child.log().includes('serving its results'),
    );
    const exited = new Promise<number | null>((resolve) => child.process.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    assert.equal(await exited, 0, child.log());
    assert.match(child.log(), /then SIGTERM/);
  } finally {
    await child.stop();
  }
});
