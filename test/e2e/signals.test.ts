/**
 * A signal at any moment of a run ends in a clean stop: `node src/main.ts` gets SIGTERM or SIGINT at
 * delays spread over its whole start-up (module loading, exporters, the API, a ramp of 300 processes)
 * and after it. Every time: exit code 0, every worker it started reaped (none left, not even as an
 * orphan or a zombie), its runtime files gone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isAlive, workersOf } from '../helpers/proc.ts';
import { sleep } from '../helpers/wait.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const PROCESSES = 300;
const scratch = mkdtempSync(join(tmpdir(), 'psim-signals-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runtime directories on /dev/shm whose recorded engine is `pid`. */
function shmDirsOf(pid: number): string[] {
  return readdirSync('/dev/shm').filter((entry) => {
    try {
      return readFileSync(join('/dev/shm', entry, 'engine.pid'), 'utf8').split(' ')[0] === String(pid);
    } catch {
      return false;
    }
  });
}

interface Trial {
  code: number | null;
  signal: NodeJS.Signals | null;
  workers: number[];
  log: string;
  tmpLeft: string[];
  shmLeft: string[];
}

/**
 * Starts the simulator, sends `signal` after `delayMs` (-1: as soon as its first worker runs), and
 * reports how it ended.
 */
async function trial(delayMs: number, signal: NodeJS.Signals): Promise<Trial> {
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      TMPDIR: tmp,
      XDG_RUNTIME_DIR: '',
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: String(PROCESSES),
      OTEL_METRICS_EXPORTER: 'none',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk;
  });
  const pid = child.pid as number;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  // Every worker it ever had, seen while it lived (they are its direct children).
  const workers = new Set<number>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const worker of workersOf(pid)) workers.add(worker);
      await sleep(delayMs >= 0 ? 10 : 1);
    }
  })();
  try {
    if (delayMs >= 0) await sleep(delayMs);
    else {
      const deadline = Date.now() + 20_000;
      while (workers.size === 0 && child.exitCode === null && Date.now() < deadline) await sleep(1);
    }
    child.kill(signal);
    const ending = await Promise.race([
      exited,
      sleep(30_000).then(() => ({ code: null, signal: 'timeout' as unknown as NodeJS.Signals })),
    ]);
    done = true;
    await watch;
    return {
      ...ending,
      workers: [...workers],
      log,
      tmpLeft: readdirSync(tmp),
      shmLeft: shmDirsOf(pid),
    };
  } finally {
    done = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// From before the signal handlers could exist (0 ms: Node is still loading) to well after the ramp.
const DELAYS = [0, 30, 80, 150, 250, 400, 600, 900, 1300, 1800, 2500, 4000];

for (const [i, delayMs] of DELAYS.entries()) {
  const signal: NodeJS.Signals = i % 3 === 2 ? 'SIGINT' : 'SIGTERM';
  test(`${signal} ${delayMs} ms after launch: a clean stop, every worker reaped, no runtime file left`, async () => {
    const result = await trial(delayMs, signal);
    const context = `\n--- simulator log ---\n${result.log.slice(-3000)}`;
    if (result.signal === signal) {
      // Only while Node itself boots, before the program's first line: nothing was started yet.
      assert.equal(result.log, '', `killed by ${signal} after it had begun${context}`);
      assert.deepEqual(result.workers, [], context);
    } else {
      assert.equal(result.signal, null, `ended by ${result.signal}${context}`);
      assert.equal(result.code, 0, context);
    }
    for (const worker of result.workers)
      assert.equal(isAlive(worker), false, `worker ${worker} left${context}`);
    assert.deepEqual(result.tmpLeft, [], `runtime files left in TMPDIR${context}`);
    assert.deepEqual(result.shmLeft, [], `control files left on /dev/shm${context}`);
  });
}

test('SIGTERM as the first worker starts: the ramp stops, exit 0, every worker reaped', async () => {
  const result = await trial(-1, 'SIGTERM');
  const context = `\n--- simulator log ---\n${result.log.slice(-3000)}`;
  assert.equal(result.signal, null, context);
  assert.equal(result.code, 0, context);
  assert.ok(
    result.workers.length > 0 && result.workers.length < PROCESSES,
    `${result.workers.length} workers${context}`,
  );
  for (const worker of result.workers)
    assert.equal(isAlive(worker), false, `worker ${worker} left${context}`);
  assert.deepEqual(result.tmpLeft, [], context);
  assert.deepEqual(result.shmLeft, [], context);
});

test('a second signal while stopping exits at once with 130', async () => {
  // A collector that accepts connections and never answers: the last export waits for its timeout,
  // which keeps the stop going long enough for a second signal.
  const blackhole = createServer(() => {});
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const { port } = blackhole.address() as AddressInfo;
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      TMPDIR: tmp,
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: '20',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_METRIC_EXPORT_INTERVAL: '20000',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLog = async (pattern: RegExp) => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(log) && child.exitCode === null && Date.now() < deadline) await sleep(20);
    assert.match(log, pattern);
  };
  try {
    await waitForLog(/simulation running/);
    child.kill('SIGTERM');
    await waitForLog(/shutting down/);
    child.kill('SIGTERM');
    assert.equal(await exited, 130, log);
    assert.match(log, /again while stopping: exiting now/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    blackhole.close();
  }
});
