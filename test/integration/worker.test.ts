import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlTable, type SlotTargets } from '../../src/workload/control-table.ts';
import { FALLBACK_WORKER_PATH, NATIVE_WORKER_PATH, resolveWorker } from '../../src/workload/worker-path.ts';
import { assertCpuShare, burnsWithin, describeCpu, favour, measureCpu } from '../helpers/cpu-share.ts';
import { schedstat } from '../helpers/proc.ts';
import { readUntil, sleep } from '../helpers/wait.ts';

const PAGE_SIZE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
const MiB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'psim-worker-'));
const table = ControlTable.create(join(dir, 'control'), 64);
/** Every pid this file started, killed in after() whatever happened. */
const started = new Set<number>();

/** Exec'ing through a link named after the process is what sets comm. */
function linkAs(name: string): string {
  const path = join(dir, name);
  if (existsSync(path)) return path;
  try {
    linkSync(NATIVE_WORKER_PATH, path);
  } catch {
    copyFileSync(NATIVE_WORKER_PATH, path); // another filesystem: a copy execs the same
  }
  return path;
}

interface Worker {
  pid: number;
  slot: number;
  child: ChildProcess;
}

function workerEnv(slot: number, parentPid = process.pid): NodeJS.ProcessEnv {
  return { PSIM_CONTROL_FILE: table.path, PSIM_SLOT: String(slot), PSIM_PARENT_PID: String(parentPid) };
}

function startWorker(targets: SlotTargets, name = 'nginx-worker', args: string[] = []): Worker {
  const slot = table.allocate();
  table.write(slot, targets);
  const child = spawn(linkAs(name), args, { detached: true, stdio: 'ignore', env: workerEnv(slot) });
  assert.ok(child.pid, `spawn of ${name} failed`);
  started.add(child.pid);
  return { pid: child.pid, slot, child };
}

function stopWorker(worker: Worker): void {
  kill(worker.pid);
  table.release(worker.slot);
}

function kill(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL'); // detached: the worker leads its own process group
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  started.delete(pid);
}

function retarget(worker: Worker, targets: SlotTargets): void {
  table.write(worker.slot, targets);
  process.kill(worker.pid, 'SIGUSR1');
}

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const statusField = (pid: number, field: string) =>
  status(pid).match(new RegExp(`^${field}:\\s*(.*)$`, 'm'))?.[1];
const threadCount = (pid: number) => Number(statusField(pid, 'Threads'));
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssBytes = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_SIZE;
/** Gone, or a zombie waiting to be reaped: either way no longer running. */
function isDead(pid: number): boolean {
  try {
    return /^State:\s*[ZX]/m.test(status(pid));
  } catch {
    return true;
  }
}

/** Asserts that a reading reaches `expected` and is still there a moment later (no oscillation). */
async function assertHolds(what: string, read: () => number, expected: number): Promise<void> {
  const reached = await readUntil(read, (v) => v === expected);
  assert.equal(reached, expected, `${what} should reach ${expected}`);
  await sleep(250);
  assert.equal(read(), expected, `${what} should stay at ${expected}`);
}

async function assertRssNear(worker: Worker, targetBytes: number): Promise<void> {
  const near = (v: number) => Math.abs(v - targetBytes) <= targetBytes * 0.05;
  const reached = await readUntil(() => rssBytes(worker.pid), near);
  assert.ok(
    near(reached),
    `RSS ${(reached / MiB).toFixed(2)} MiB should be within 5 % of ${targetBytes / MiB} MiB`,
  );
  await sleep(250);
  const later = rssBytes(worker.pid);
  assert.ok(
    near(later),
    `RSS ${(later / MiB).toFixed(2)} MiB should stay within 5 % of ${targetBytes / MiB} MiB`,
  );
}

const idle: SlotTargets = { cpuPermille: 0, rssKiB: 0, threads: 1, fds: 3 };

before(() => {
  if (!existsSync(NATIVE_WORKER_PATH)) {
    execFileSync(process.execPath, [join(import.meta.dirname, '../../scripts/build-worker.ts')], {
      stdio: 'inherit',
    });
  }
});

after(() => {
  for (const pid of started) kill(pid);
  table.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('native worker', () => {
  it('is the worker that resolveWorker picks once built', () => {
    assert.deepEqual(resolveWorker(), { kind: 'native', path: NATIVE_WORKER_PATH });
  });

  it('takes its name from the link it was exec’d by and keeps its display argv', async () => {
    const worker = startWorker(idle, 'nginx-worker', ['-g', 'daemon off;']);
    await readUntil(
      () => fdCount(worker.pid),
      (n) => n === 3,
    );
    assert.equal(statusField(worker.pid, 'Name'), 'nginx-worker');
    const comm = execFileSync('ps', ['-o', 'comm=', '-p', String(worker.pid)], { encoding: 'utf8' }).trim();
    assert.equal(comm, 'nginx-worker');
    const cmdline = readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8').split('\0').slice(1, 3);
    assert.deepEqual(cmdline, ['-g', 'daemon off;']);
    stopWorker(worker);
  });

  it('names itself after the basename of PSIM_NAME when it is set', async () => {
    const slot = table.allocate();
    table.write(slot, idle);
    const env = { ...workerEnv(slot), PSIM_NAME: '/opt/batch/job-a1-3' };
    const child = spawn(NATIVE_WORKER_PATH, [], { detached: true, stdio: 'ignore', env });
    assert.ok(child.pid);
    started.add(child.pid);
    const name = await readUntil(
      () => statusField(child.pid as number, 'Name'),
      (n) => n === 'job-a1-3',
    );
    assert.equal(name, 'job-a1-3');
    kill(child.pid);
    table.release(slot);
  });

  it('holds exactly 1, 5 and 12 threads and follows a change', async () => {
    const workers = [1, 5, 12].map((threads) => ({ threads, worker: startWorker({ ...idle, threads }) }));
    for (const { threads, worker } of workers) {
      await assertHolds('Threads', () => threadCount(worker.pid), threads);
    }
    const [one, , twelve] = workers.map(({ worker }) => worker) as [Worker, Worker, Worker];
    retarget(twelve, { ...idle, threads: 3 });
    retarget(one, { ...idle, threads: 7 });
    await assertHolds('Threads after shrinking 12 -> 3', () => threadCount(twelve.pid), 3);
    await assertHolds('Threads after growing 1 -> 7', () => threadCount(one.pid), 7);
    for (const { worker } of workers) stopWorker(worker);
  });

  it('holds exactly 3, 10 and 64 open fds and follows a change', async () => {
    const workers = [3, 10, 64].map((fds) => ({ fds, worker: startWorker({ ...idle, fds }) }));
    for (const { fds, worker } of workers) {
      await assertHolds('fd count', () => fdCount(worker.pid), fds);
    }
    const [three, , sixtyFour] = workers.map(({ worker }) => worker) as [Worker, Worker, Worker];
    retarget(sixtyFour, { ...idle, fds: 5 });
    retarget(three, { ...idle, fds: 20 });
    await assertHolds('fd count after shrinking 64 -> 5', () => fdCount(sixtyFour.pid), 5);
    await assertHolds('fd count after growing 3 -> 20', () => fdCount(three.pid), 20);
    for (const { worker } of workers) stopWorker(worker);
  });

  it('keeps RSS within 5 % of 20 MiB, then 60 MiB, then back down to 10 MiB', async () => {
    const worker = startWorker({ ...idle, rssKiB: 20 * 1024 });
    await assertRssNear(worker, 20 * MiB);
    retarget(worker, { ...idle, rssKiB: 60 * 1024 });
    await assertRssNear(worker, 60 * MiB);
    retarget(worker, { ...idle, rssKiB: 10 * 1024 });
    await assertRssNear(worker, 10 * MiB);
    stopWorker(worker);
  });

  it('stays at its floor when the memory target is below it', async () => {
    const worker = startWorker({ ...idle, rssKiB: 64 });
    // Settled once it holds its fds: it has read its slot and applied every target.
    await assertHolds('fd count at start', () => fdCount(worker.pid), 3);
    const floor = rssBytes(worker.pid);
    assert.ok(floor > 64 * 1024 && floor < 4 * MiB, `floor ${floor} bytes`);
    // The fd change shows when the worker has applied the new slot, the lower memory target with it.
    retarget(worker, { ...idle, rssKiB: 1, fds: 4 });
    await assertHolds('fd count after the retarget', () => fdCount(worker.pid), 4);
    assert.ok(Math.abs(rssBytes(worker.pid) - floor) <= 16 * 1024, 'RSS does not move below the floor');
    stopWorker(worker);
  });

  it('burns 30 % of a core over 10 s, and an idle worker burns nothing', async (t) => {
    const busy = startWorker({ ...idle, cpuPermille: 300 });
    const quiet = startWorker(idle);
    favour(busy.pid);
    assert.ok(await burnsWithin(busy.pid, 20, 5000), 'the busy worker starts burning');
    const quiet0 = schedstat(quiet.pid).runS;
    const window = await measureCpu(busy.pid, 10_000);
    const quietMs = (schedstat(quiet.pid).runS - quiet0) * 1000;
    t.diagnostic(`busy worker ${describeCpu(window)}; idle worker ${quietMs.toFixed(2)} ms of CPU`);
    assertCpuShare(window, 0.3, 0.05, 'a worker at 300 permille over 10 s');
    assert.ok(quietMs <= 10, `an idle worker used ${quietMs.toFixed(1)} ms of CPU in 10 s`);
    stopWorker(busy);
    stopWorker(quiet);
  });

  it('stops burning CPU when its target drops to 0', async (t) => {
    const worker = startWorker({ ...idle, cpuPermille: 500 });
    favour(worker.pid);
    // First it burns: a worker that never burnt would "stop" trivially.
    assert.ok(await burnsWithin(worker.pid, 20, 5000), 'the worker starts burning');
    const burning = await measureCpu(worker.pid, 1000);
    assertCpuShare(burning, 0.5, 0.1, 'a worker at 500 permille');
    // The fd change shows when the worker has read the new slot; its CPU share changes at the end of the
    // 100 ms period it is in, which may still burn its 50 ms.
    retarget(worker, { ...idle, fds: 4 });
    await assertHolds('fd count after the retarget', () => fdCount(worker.pid), 4);
    const stopped = await measureCpu(worker.pid, 2000);
    t.diagnostic(
      `at 500 permille: ${describeCpu(burning)}; after the target went to 0: ${describeCpu(stopped)}`,
    );
    assert.ok(
      stopped.runS <= 0.06,
      `no CPU after the target went to 0 beyond the period in progress: ${describeCpu(stopped)}`,
    );
    stopWorker(worker);
  });

  it('dies with its parent within 1 s when the parent is SIGKILLed', async () => {
    const slot = table.allocate();
    table.write(slot, idle);
    const script = `
      const { spawn } = require('node:child_process');
      const env = { ...process.env, PSIM_PARENT_PID: String(process.pid) };
      const w = spawn(process.argv[1], [], { stdio: 'ignore', env });
      process.stdout.write(String(w.pid) + '\\n');
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script, linkAs('postgres')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: workerEnv(slot),
    });
    assert.ok(parent.pid);
    started.add(parent.pid);
    const line = await new Promise<string>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      parent.once('exit', () => reject(new Error('intermediate parent exited early')));
    });
    const workerPid = Number(line);
    started.add(workerPid);
    await readUntil(
      () => statusField(workerPid, 'Name'),
      (name) => name === 'postgres',
    );
    assert.equal(statusField(workerPid, 'Name'), 'postgres');

    process.kill(parent.pid, 'SIGKILL');
    started.delete(parent.pid);
    const dead = await readUntil(() => isDead(workerPid), Boolean, 1000);
    assert.ok(dead, `worker ${workerPid} still alive 1 s after its parent was killed`);
    started.delete(workerPid);
    table.release(slot);
  });

  it('dies on SIGTERM (default action) once it runs as a worker', async () => {
    const worker = startWorker({ ...idle, fds: 5 });
    // Holding its slot's fds, it is past exec and set-up: the signal reaches the worker itself, not a
    // child that has not exec'd yet (whose default action would be the same).
    await assertHolds('fd count', () => fdCount(worker.pid), 5);
    assert.equal(statusField(worker.pid, 'Name'), 'nginx-worker');
    process.kill(worker.pid, 'SIGTERM');
    const ended = () => ({ code: worker.child.exitCode, signal: worker.child.signalCode });
    const end = await readUntil(ended, ({ code, signal }) => code !== null || signal !== null, 5000);
    assert.deepEqual(end, { code: null, signal: 'SIGTERM' }, 'ended by SIGTERM within 5 s');
    started.delete(worker.pid);
    table.release(worker.slot);
  });

  it('exits with code 2 and one line on stderr when its environment is missing or wrong', () => {
    const cases: [string, NodeJS.ProcessEnv][] = [
      ['no environment', {}],
      ['slot not a number', { ...workerEnv(0), PSIM_SLOT: 'x1' }],
      ['slot beyond the file', { ...workerEnv(0), PSIM_SLOT: '64' }],
      ['control file missing', { ...workerEnv(0), PSIM_CONTROL_FILE: join(dir, 'nope') }],
    ];
    for (const [label, env] of cases) {
      const run = spawnSync(linkAs('nginx-worker'), [], { env, encoding: 'utf8', timeout: 5000 });
      assert.equal(run.status, 2, `${label}: exit code`);
      assert.match(run.stderr, /^ps-worker: .+\n$/, `${label}: one line on stderr`);
    }
  });

  it('holds PSIM_PENDING_SIGNALS pending for the whole process, blocked in every thread, and refuses signals it needs', async () => {
    const slot = table.allocate();
    table.write(slot, { ...idle, threads: 4 });
    // SIGHUP (1), SIGUSR2 (12), SIGWINCH (28): bits 0, 11 and 27
    const child = spawn(linkAs('held-signals'), [], {
      detached: true,
      stdio: 'ignore',
      env: { ...workerEnv(slot), PSIM_PENDING_SIGNALS: '1,12,28' },
    });
    assert.ok(child.pid);
    started.add(child.pid);
    const pid = child.pid;
    await assertHolds('threads', () => threadCount(pid), 4);
    const mask = 2 ** 0 + 2 ** 11 + 2 ** 27;
    assert.equal(Number.parseInt(statusField(pid, 'ShdPnd') ?? '', 16), mask, 'pending for the process');
    assert.equal(Number.parseInt(statusField(pid, 'SigPnd') ?? '', 16), 0, 'not for one thread');
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const blocked = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').match(/^SigBlk:\s*(\S+)/m)?.[1];
      assert.equal(BigInt(`0x${blocked}`) & BigInt(mask), BigInt(mask), `thread ${tid} blocks them`);
    }
    // one more SIGUSR2 from outside: blocked, already pending, the worker lives on
    process.kill(pid, 'SIGUSR2');
    await sleep(100);
    assert.equal(isDead(pid), false);
    assert.equal(Number.parseInt(statusField(pid, 'ShdPnd') ?? '', 16), mask);
    kill(pid);
    table.release(slot);
    for (const bad of ['15', '10', '9', '19', '18', '0', '32', 'x', '1,,2']) {
      const run = spawnSync(linkAs('held-signals'), [], {
        env: { ...workerEnv(0), PSIM_PENDING_SIGNALS: bad },
        encoding: 'utf8',
        timeout: 5000,
      });
      assert.equal(run.status, 3, `PSIM_PENDING_SIGNALS=${bad}: exit code`);
      assert.match(run.stderr, /^ps-worker: PSIM_PENDING_SIGNALS .+\n$/);
    }
  });

  it('exits with code 1 when its parent is not the one named in PSIM_PARENT_PID', () => {
    const run = spawnSync(linkAs('nginx-worker'), [], { env: workerEnv(0, 1), timeout: 5000 });
    assert.equal(run.status, 1);
  });
});

describe('fallback worker (Node)', () => {
  it('sets its title and holds a requested fd count above its baseline', async () => {
    const slot = table.allocate();
    table.write(slot, { ...idle, fds: 40 });
    const child = spawn(process.execPath, [FALLBACK_WORKER_PATH, 'redis-server', '*:6379'], {
      detached: true,
      stdio: 'ignore',
      env: workerEnv(slot),
    });
    assert.ok(child.pid);
    started.add(child.pid);
    const name = await readUntil(
      () => statusField(child.pid as number, 'Name'),
      (n) => n === 'redis-server',
      5000,
    );
    assert.equal(name, 'redis-server');
    await assertHolds('fd count', () => fdCount(child.pid as number), 40);
    kill(child.pid);
    table.release(slot);
  });

  it('exits with code 2 when its environment is missing', () => {
    const run = spawnSync(process.execPath, [FALLBACK_WORKER_PATH, 'x'], {
      env: {},
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /PSIM_CONTROL_FILE/);
  });
});
