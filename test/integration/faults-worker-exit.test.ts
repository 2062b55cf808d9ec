import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Simulation } from '../../src/engine/simulation.ts';
import { childrenOf } from '../helpers/proc.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitUntil } from '../helpers/wait.ts';

describe('a simulated process that exits unexpectedly', () => {
  let test: TestSimulator;
  let simulation: Simulation;

  before(async () => {
    test = await startTestSimulator({ AUTO_START: 'false', OTEL_METRICS_EXPORTER: 'none' });
    simulation = await runProfile(test.sim, {
      name: 'crashy',
      templates: [
        { name: 'phoenix-{i}', count: 2, priority: 'high', restart: 'on-failure', restart_delay: '200ms' },
        { name: 'mortal-{i}', count: 2, priority: 'low', restart: 'never' },
      ],
    });
  });

  after(async () => {
    await test.sim.stop();
    assert.deepEqual(childrenOf(process.pid), [], 'children left after stop');
  });

  const pidOf = (name: string) =>
    test.sim.engine.liveProcesses().find((process) => process.name === name)?.pid;

  it('is recorded as crashed with its signal and replaced when its template restarts on failure', async () => {
    const victim = pidOf('phoenix-1');
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    assert.ok(
      await waitUntil(() => simulation.crashes.some((crash) => crash.pid === victim), 5000),
      'crash not recorded',
    );
    const crash = simulation.crashes.find((entry) => entry.pid === victim);
    assert.equal(crash?.signal, 'SIGKILL');
    assert.equal(crash?.name, 'phoenix-1');
    assert.equal(simulation.exits.crashed.high, 1);
    assert.ok(await waitUntil(() => pidOf('phoenix-1') !== undefined, 5000), 'phoenix-1 was not replaced');
    assert.notEqual(pidOf('phoenix-1'), victim);
    assert.equal(
      test.sim.engine.liveProcesses().find((process) => process.name === 'phoenix-1')?.generation,
      1,
    );
  });

  it('is recorded with its signal and not replaced when its template never restarts', async () => {
    const victim = pidOf('mortal-2');
    // A witness killed at the same moment whose template restarts after 200 ms: once it is back, a
    // wrong restart of the victim (delay 0) would have happened too, however slow the machine.
    const witness = pidOf('phoenix-2');
    assert.ok(victim && witness);
    // The worker has no SIGTERM handler: the default action ends it, reported as the signal.
    process.kill(victim, 'SIGTERM');
    process.kill(witness, 'SIGTERM');
    assert.ok(
      await waitUntil(() => simulation.crashes.some((crash) => crash.pid === victim), 5000),
      'exit not recorded',
    );
    const crash = simulation.crashes.find((entry) => entry.pid === victim);
    assert.deepEqual(
      { name: crash?.name, signal: crash?.signal, exitCode: crash?.exitCode },
      { name: 'mortal-2', signal: 'SIGTERM', exitCode: undefined },
    );
    assert.ok(
      await waitUntil(() => (pidOf('phoenix-2') ?? witness) !== witness, 5000),
      'the witness phoenix-2 was not replaced',
    );
    assert.equal(pidOf('mortal-2'), undefined, 'a never-restart process came back');
    assert.equal(simulation.exits.crashed.low, 1, 'one low-priority crash: mortal-2');
  });

  it('never takes the simulator down: the others run on and the simulation stays running', async () => {
    for (const name of ['phoenix-2', 'mortal-1']) {
      const pid = pidOf(name);
      assert.ok(pid);
      process.kill(pid, 'SIGSEGV');
    }
    assert.ok(
      await waitUntil(() => simulation.crashes.length === 5, 5000),
      `${simulation.crashes.length} crashes`,
    );
    assert.deepEqual(
      simulation.crashes.slice(-2).map((crash) => crash.signal),
      ['SIGSEGV', 'SIGSEGV'],
    );
    assert.equal(simulation.state, 'running');
    await test.sim.sampler.sampleNow();
    const body = await (await fetch(test.metricsUrl)).text();
    assert.match(body, /process_executable_name="phoenix-1"/);
    assert.ok(await waitUntil(() => pidOf('phoenix-2') !== undefined, 5000), 'phoenix-2 was not replaced');
  });
});
