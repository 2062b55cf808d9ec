/**
 * The launcher (src/workload/launcher.c) and its spawner, against real children: what a child gets
 * (argv, environment, session, stdio), how it ends, refused spawns, signals after a reap, the
 * launcher's own death, and requests it must refuse without crashing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createLauncherSpawner, NATIVE_LAUNCHER_PATH } from '../../src/engine/launcher-spawner.ts';
import {
  createExecaSpawner,
  createNodeSpawner,
  SpawnError,
  type SpawnedChild,
  type Spawner,
} from '../../src/engine/spawner.ts';
import { ControlTable } from '../../src/workload/control-table.ts';
import { NATIVE_WORKER_PATH } from '../../src/workload/worker-path.ts';
import { childrenOf, isAlive, launcherOf, processGroup, procStatus } from '../helpers/proc.ts';
import { waitUntil } from '../helpers/wait.ts';

const SH = '/bin/sh';
/** A child that stays until signalled: sh waits for its sleep (no exec, so sh's own argv stays). */
const STAY = ['-c', 'sleep 60; :'];

const spawner = createLauncherSpawner();
const started: SpawnedChild[] = [];
const dir = mkdtempSync(join(tmpdir(), 'psim-launcher-'));
const table = ControlTable.create(join(dir, 'control'), 8);
after(async () => {
  for (const child of started) child.signalGroup('SIGKILL');
  await spawner.close();
  table.close();
  rmSync(dir, { recursive: true, force: true });
});

async function stay(argv0: string, extra: string[] = [], env: Record<string, string> = {}) {
  const child = await spawner.spawn({ executable: SH, argv0, args: [...STAY, ...extra], env });
  started.push(child);
  // A spawn resolves once the exec is done: argv is in /proc at once (the kernel sets it a moment
  // after the exec replaced the memory, and a reader in between saw an empty command line).
  assert.ok(readFileSync(`/proc/${child.pid}/cmdline`).length > 0, `argv of ${child.pid} not set yet`);
  return child;
}

describe('the launcher', () => {
  it('starts each child with exactly its argv and environment, detached, stdio on /dev/null', async () => {
    const child = await stay('named-child', ['a b', '', 'é"\'$x'], { ONE: '1', EMPTY: '', 'WITH=EQ': 'v' });
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    assert.deepEqual(argv, ['named-child', ...STAY, 'a b', '', 'é"\'$x']);
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0').filter(Boolean).sort();
    assert.deepEqual(environ, ['EMPTY=', 'ONE=1', 'WITH=EQ=v'].sort(), 'nothing of the engine inherited');
    assert.equal(processGroup(child.pid), child.pid, 'its own process group');
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    assert.equal(session, child.pid, 'its own session');
    for (const fd of [0, 1, 2]) assert.equal(readlinkSync(`/proc/${child.pid}/fd/${fd}`), '/dev/null');
    // sh blocks signals around its own forks: the mask is checked on a sleep, which never changes it.
    const sleeper = await spawner.spawn({
      executable: '/bin/sleep',
      argv0: 'sleeper',
      args: ['60'],
      env: {},
    });
    started.push(sleeper);
    assert.equal(readFileSync(`/proc/${sleeper.pid}/comm`, 'utf8'), 'sleep\n', 'its own name at once');
    const status = readFileSync(`/proc/${sleeper.pid}/status`, 'utf8');
    assert.match(status, /^SigBlk:\s*0+$/m, 'no signal blocked');
    // Signals 1-31 at their default; glibc's posix_spawn leaves its two internal real-time signals
    // (32, 33) ignored, where the worker's own libc sets them up again.
    const ignored = BigInt(`0x${/^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1]}`);
    assert.equal(ignored & 0x7fffffffn, 0n, `no standard signal ignored (SigIgn ${ignored.toString(16)})`);
    sleeper.signalGroup('SIGKILL');
    const launcher = launcherOf(process.pid);
    assert.equal(Number(procStatus(child.pid)?.PPid), launcher, 'a child of the launcher');
    assert.equal(launcher, spawner.parentPid());
    child.signalGroup('SIGKILL');
    assert.deepEqual(await child.exited, { exitCode: undefined, signal: 'SIGKILL' });
  });

  it('passes generated argv and environments through unchanged', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).map((value) => value.replaceAll('\0', ''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { maxLength: 6 }),
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }).filter((key) => !/[\0=]/.test(key)),
          text,
          { maxKeys: 5 },
        ),
        async (args, env) => {
          const child = await stay('generated', args, env);
          try {
            const argv = readFileSync(`/proc/${child.pid}/cmdline`).toString('utf8').split('\0').slice(0, -1);
            assert.deepEqual(argv, ['generated', ...STAY, ...args]);
            const environ = readFileSync(`/proc/${child.pid}/environ`).toString('utf8').split('\0');
            assert.deepEqual(
              environ.filter(Boolean).sort(),
              Object.entries(env)
                .map(([k, v]) => `${k}=${v}`)
                .sort(),
            );
          } finally {
            child.signalGroup('SIGKILL');
            await child.exited;
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports exit codes and signals, and never signals a child it has reaped', async () => {
    const exits = await Promise.all(
      [0, 3, 255].map(async (code) => {
        const child = await spawner.spawn({
          executable: SH,
          argv0: 'exits',
          args: ['-c', `exit ${code}`],
          env: {},
        });
        return child.exited;
      }),
    );
    assert.deepEqual(
      exits,
      [0, 3, 255].map((code) => ({ exitCode: code, signal: undefined })),
    );
    const child = await stay('terminated');
    assert.equal(child.signal('SIGTERM'), true);
    assert.deepEqual(await child.exited, { exitCode: undefined, signal: 'SIGTERM' });
    assert.equal(child.isAlive(), false);
    assert.equal(child.signal('SIGKILL'), false, 'no signal after the reap');
    assert.equal(child.signalGroup('SIGKILL'), false, 'no group signal after the reap');
  });

  it('refuses a program that does not exist with ENOENT, and the next spawn works', async () => {
    await assert.rejects(
      spawner.spawn({ executable: '/nonexistent/program', argv0: 'missing', args: [], env: {} }),
      (error: SpawnError) =>
        error instanceof SpawnError && error.code === 'ENOENT' && /missing/.test(error.message),
    );
    const child = await stay('after-refusal');
    assert.ok(isAlive(child.pid));
    child.signalGroup('SIGKILL');
    await child.exited;
  });

  it('starts 300 children asked for at once, each once', async () => {
    const children = await Promise.all(Array.from({ length: 300 }, (_, i) => stay(`many-${i}`)));
    assert.equal(new Set(children.map((child) => child.pid)).size, 300);
    for (const [i, child] of children.entries())
      assert.equal(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0')[0], `many-${i}`);
    for (const child of children) child.signalGroup('SIGKILL');
    const exits = await Promise.all(children.map((child) => child.exited));
    assert.ok(exits.every((exit) => exit.signal === 'SIGKILL'));
  });

  it('takes its workers with it when it dies, and the next spawn starts a new launcher', async () => {
    const first = spawner.parentPid();
    // Real workers: each sets its parent-death signal, so the launcher's death ends it.
    const workers = await Promise.all(
      [0, 1, 2].map(async (slot) => {
        const child = await spawner.spawn({
          executable: NATIVE_WORKER_PATH,
          argv0: `orphan-${slot}`,
          args: [],
          env: { PSIM_CONTROL_FILE: table.path, PSIM_SLOT: String(slot), PSIM_PARENT_PID: String(first) },
        });
        started.push(child);
        return child;
      }),
    );
    // Running (past the worker's parent check), not just spawned.
    assert.ok(
      await waitUntil(() => workers.every((w) => procStatus(w.pid)?.Name === 'ps-worker'), 5000),
      'the workers run',
    );
    process.kill(first, 'SIGKILL');
    const exits = await Promise.all(workers.map((child) => child.exited));
    assert.ok(exits.every((exit) => exit.signal === 'SIGKILL'));
    assert.ok(
      await waitUntil(() => workers.every((w) => !isAlive(w.pid)), 5000),
      'the workers died with the launcher',
    );
    const next = await stay('after-launcher-death');
    assert.notEqual(spawner.parentPid(), first);
    assert.equal(Number(procStatus(next.pid)?.PPid), spawner.parentPid());
    next.signalGroup('SIGKILL');
    await next.exited;
  });

  it('ends what is left when closed, and leaves nothing behind', async () => {
    const own = createLauncherSpawner();
    const children = await Promise.all(
      [1, 2].map(() => own.spawn({ executable: SH, argv0: 'left', args: STAY, env: {} })),
    );
    const launcher = own.parentPid();
    await own.close();
    const exits = await Promise.all(children.map((child) => child.exited));
    assert.ok(
      exits.every((exit) => exit.signal === 'SIGKILL'),
      JSON.stringify(exits),
    );
    assert.equal(isAlive(launcher), false);
    for (const child of children) assert.equal(isAlive(child.pid), false);
    assert.ok(!childrenOf(process.pid).includes(launcher));
  });
});

describe('the launcher program, sent malformed requests', () => {
  /** Runs the launcher with `input` on stdin; its exit code and signal. */
  function feed(input: Buffer): Promise<{ code: number | null; signal: string | null }> {
    return new Promise((resolve) => {
      const child = spawn(NATIVE_LAUNCHER_PATH, [String(process.pid)], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
  }
  const frame = (body: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(body.length);
    return Buffer.concat([length, body]);
  };

  it('exits 2 or ends cleanly on generated garbage, never by a signal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
          // Framed bodies with the request types, so that the parsers behind them get the garbage.
          fc
            .tuple(fc.constantFrom(0x53, 0x4b), fc.uint8Array({ maxLength: 200 }))
            .map(([type, bytes]) => frame(Buffer.concat([Buffer.from([type]), Buffer.from(bytes)]))),
        ),
        async (input) => {
          const { code, signal } = await feed(input);
          assert.equal(signal, null, `killed by ${signal} on ${input.toString('hex')}`);
          assert.ok(code === 0 || code === 2, `exit ${code} on ${input.toString('hex')}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses a length above its limit, counts that do not match the strings, and a signal out of range', async () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(0xffffffff);
    const spawnHeader = (argc: number, envc: number) => {
      const header = Buffer.alloc(9);
      header[0] = 0x53;
      header.writeUInt32LE(1, 1);
      header.writeUInt16LE(argc, 5);
      header.writeUInt16LE(envc, 7);
      return header;
    };
    const kill = (pid: number, signal: number) => {
      const body = Buffer.alloc(10);
      body[0] = 0x4b;
      body.writeUInt32LE(pid, 1);
      body.writeUInt32LE(signal, 5);
      return frame(body);
    };
    const bystander = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
    try {
      for (const input of [
        huge,
        frame(Buffer.concat([spawnHeader(2, 0), Buffer.from('/bin/true\0only-one\0')])),
        frame(Buffer.concat([spawnHeader(1, 0), Buffer.from('/bin/true\0a\0extra\0')])),
        frame(Buffer.concat([spawnHeader(0, 0), Buffer.from('/bin/true\0')])),
        kill(bystander.pid as number, 999),
      ]) {
        assert.deepEqual(await feed(input), { code: 2, signal: null }, input.toString('hex'));
      }
      // A well-formed kill request for a PID the launcher did not start is dropped.
      assert.deepEqual(await feed(kill(bystander.pid as number, 9)), { code: 0, signal: null });
      assert.equal(
        isAlive(bystander.pid as number),
        true,
        'a process the launcher did not start was signalled',
      );
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe('exit listeners, of every spawner', () => {
  const spawners: Array<[string, () => Spawner]> = [
    ['the launcher', () => spawner],
    ['node:child_process', createNodeSpawner],
    ['execa', createExecaSpawner],
  ];
  for (const [name, make] of spawners) {
    it(`${name}: each listener is told the exit once, in the order they came, before the exit or after it, never at once`, async () => {
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        const child = await make().spawn({ executable: SH, argv0: 'listened', args: STAY, env: {} });
        started.push(child);
        const calls: string[] = [];
        child.onExit((exit) => calls.push(`first ${exit.signal}`));
        child.onExit((exit) => calls.push(`second ${exit.signal}`));
        assert.equal(child.signalGroup(signal), true);
        assert.deepEqual(await child.exited, { exitCode: undefined, signal });
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(calls, [`first ${signal}`, `second ${signal}`]);
        let late: unknown;
        child.onExit((exit) => {
          late = exit;
        });
        assert.equal(late, undefined, 'a listener added after the exit was called at once');
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(late, { exitCode: undefined, signal });
        assert.deepEqual(await child.exited, { exitCode: undefined, signal }, '`exited` asked again');
        assert.equal(calls.length, 2, 'a listener was told twice');
        assert.equal(child.isAlive(), false);
      }
    });
  }
});
