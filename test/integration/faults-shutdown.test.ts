import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnChild } from '../helpers/children.ts';
import { type ExportRequest, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { workersOf } from '../helpers/proc.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';
import { waitUntil } from '../helpers/wait.ts';

const PROCESSES = 6;

/** process.pid of every process.memory.usage point in a request (on its Resource or on the point). */
function pidsIn(request: ExportRequest): Set<number> {
  return new Set(pointsOf(request, 'process.memory.usage').map((p) => Number(p.attributes['process.pid'])));
}

describe('SIGTERM of the simulator', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('exits 0 after flushing a last export of every process, leaving no process behind', async () => {
    const sink = await startOtlpSink();
    cleanups.push(() => sink.close());
    const simulator = spawnChild(process.execPath, [MAIN], {
      ...process.env,
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: String(PROCESSES),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      // one export at start, then none until the shutdown flush
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
    });
    cleanups.push(() => simulator.stop(2000));
    const exited = new Promise<number | null>((resolve) =>
      simulator.process.once('exit', (code) => resolve(code)),
    );

    assert.ok(await waitUntil(() => workersOf(simulator.pid).length === PROCESSES, 20_000), simulator.log());
    const pids = workersOf(simulator.pid);
    assert.ok(
      await waitUntil(() => sink.requests.length > 0, 20_000),
      `no export at start:\n${simulator.log()}`,
    );
    const before = sink.requests.length;

    process.kill(simulator.pid, 'SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000)),
    ]);
    assert.equal(code, 0, simulator.log());

    const flushed = sink.requests.slice(before).map(({ request }) => pidsIn(request));
    assert.ok(
      flushed.some((seen) => pids.every((pid) => seen.has(pid))),
      `no export after SIGTERM carried all ${PROCESSES} processes (${flushed.length} requests after it)`,
    );
    // The simulator reaps its children before it exits: not even zombies remain.
    const left = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, []);
    assert.match(simulator.log(), /shutting down.*SIGTERM/);
  });
});
