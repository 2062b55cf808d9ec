/**
 * The runtime files cannot be hijacked on a shared host: directories are private, fresh and ours;
 * names planted in advance (symlinks to a victim file, another user's directory with a `bin/<name>`
 * script) are never followed, used or removed; left-overs of our own dead engines are cleaned up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Engine } from '../../src/engine/engine.ts';
import {
  createRuntimeDir,
  DIR_PREFIX,
  defaultRuntimeBase,
  removeStaleDirs,
} from '../../src/engine/runtime-dir.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import { NATIVE_WORKER_PATH } from '../../src/workload/worker-path.ts';
import { waitUntil } from '../helpers/wait.ts';

const NOBODY = 65_534;
const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A fresh base directory standing in for /tmp and /dev/shm. */
function base(): string {
  const dir = mkdtempSync(join(tmpdir(), 'psim-runtime-test-'));
  chmodSync(dir, 0o1777); // like /tmp: everyone may create entries
  scratch.push(dir);
  return dir;
}

test('directories are private, fresh and ours; the control file is created, not opened', () => {
  const tmp = base();
  const shm = base();
  const a = createRuntimeDir(NATIVE_WORKER_PATH, { base: tmp, shm });
  const b = createRuntimeDir(NATIVE_WORKER_PATH, { base: tmp, shm });
  try {
    assert.notEqual(a.path, b.path, 'names are not predictable');
    for (const dir of [a.path, join(a.path, 'bin'), join(a.controlFile, '..')]) {
      const stat = lstatSync(dir);
      assert.ok(stat.isDirectory() && !stat.isSymbolicLink(), dir);
      assert.equal(stat.uid, process.geteuid?.());
      assert.equal(stat.mode & 0o777, 0o700, `${dir} mode ${(stat.mode & 0o777).toString(8)}`);
    }
    assert.ok(a.controlFile.startsWith(shm));
    assert.equal(lstatSync(a.controlFile).mode & 0o777, 0o600);
  } finally {
    a.remove();
    b.remove();
  }
  assert.deepEqual(readdirSync(tmp), []);
  assert.deepEqual(readdirSync(shm), []);
});

test('planted symlinks and another user’s directory are never followed, used or removed', async () => {
  const tmp = base();
  const shm = base();
  const victim = join(base(), 'victim');
  writeFileSync(victim, 'precious\n');
  // The old, predictable names, planted for the next PIDs: links to the victim.
  for (let pid = process.pid; pid < process.pid + 20; pid++) {
    symlinkSync(victim, join(tmp, `${DIR_PREFIX}${pid}-1`));
    symlinkSync(victim, join(shm, `${DIR_PREFIX}${pid}-1.ctl`));
  }
  // Another user's directory, world-writable, with a script named like a simulated process.
  const foreign = join(tmp, `${DIR_PREFIX}foreign`);
  mkdirSync(join(foreign, 'bin'), { recursive: true });
  writeFileSync(join(foreign, 'bin', 'nginx-worker'), '#!/bin/sh\ntouch /tmp/owned\n', { mode: 0o755 });
  chmodSync(foreign, 0o777);
  chownSync(foreign, NOBODY, NOBODY);
  chownSync(join(foreign, 'bin'), NOBODY, NOBODY);

  const engine = new Engine({ maxProcesses: 10, runtime: { base: tmp, shm } });
  try {
    const simulation = engine.createSimulation({
      name: 'hijack',
      profile: validateProfile({
        name: 'hijack',
        templates: [{ name: 'nginx-worker', count: 2, priority: 'low' }],
      }),
      seed: 1,
      durationMs: undefined,
      chaos: false,
    });
    await engine.startSimulation(simulation.id);
    for (const { pid } of engine.processesOf(simulation.id)) {
      const exe = readlinkSync(`/proc/${pid}/exe`);
      assert.ok(!exe.startsWith(foreign), `exec'd the planted ${exe}`);
      assert.ok(exe.startsWith(tmp) && exe.endsWith('/bin/nginx-worker'), exe);
      assert.equal(lstatSync(exe).uid, process.geteuid?.());
    }
  } finally {
    await engine.shutdown();
  }
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the victim was neither truncated nor zeroed');
  assert.ok(
    lstatSync(join(tmp, `${DIR_PREFIX}${process.pid}-1`)).isSymbolicLink(),
    'planted links left alone',
  );
  assert.equal(statSync(foreign).uid, NOBODY, "another user's directory left alone");
  assert.ok(existsSync(join(foreign, 'bin', 'nginx-worker')));
});

test('left-overs of our dead engines are removed, those of live ones kept', async () => {
  const tmp = base();
  const shm = base();
  // An engine in a child process, killed outright: it cannot clean up.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createRuntimeDir } from ${JSON.stringify(new URL('../../src/engine/runtime-dir.ts', import.meta.url).href)};
       createRuntimeDir(${JSON.stringify(NATIVE_WORKER_PATH)}, { base: ${JSON.stringify(tmp)}, shm: ${JSON.stringify(shm)} });
       process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  try {
    assert.ok(await waitUntil(() => output.includes('ready'), 20_000), 'the child engine made its files');
    const [dead] = readdirSync(tmp);
    assert.ok(dead);
    // While it lives, its files are kept.
    removeStaleDirs(tmp);
    removeStaleDirs(shm);
    assert.deepEqual(readdirSync(tmp), [dead]);
    assert.equal(readdirSync(shm).length, 1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const live = createRuntimeDir(NATIVE_WORKER_PATH, { base: tmp, shm });
    try {
      assert.deepEqual(
        readdirSync(tmp),
        [live.path.slice(tmp.length + 1)],
        'the dead engine’s files are gone',
      );
      assert.equal(readdirSync(shm).length, 1);
    } finally {
      live.remove();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('a directory another engine is still making is kept; one left half made long ago is removed', () => {
  const shm = base();
  // Made, and its record not yet written or written in part: two shards starting together.
  const empty = join(shm, `${DIR_PREFIX}justmade`);
  const partial = join(shm, `${DIR_PREFIX}halfwritten`);
  const abandoned = join(shm, `${DIR_PREFIX}abandoned`);
  const abandonedPartial = join(shm, `${DIR_PREFIX}abandonedpartial`);
  for (const dir of [empty, partial, abandoned, abandonedPartial]) mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(partial, 'engine.pid'), `${process.pid} `);
  writeFileSync(join(abandonedPartial, 'engine.pid'), '');
  const longAgo = new Date(Date.now() - 10 * 60_000);
  for (const dir of [abandoned, abandonedPartial]) utimesSync(dir, longAgo, longAgo);
  removeStaleDirs(shm);
  assert.deepEqual(readdirSync(shm).sort(), [partial, empty].map((dir) => dir.slice(shm.length + 1)).sort());
});

test('an engine in another PID namespace keeps its files; one from an earlier boot loses them', async () => {
  const tmp = base();
  const shm = base();
  // Ours, alive, in this namespace; cleaned from inside a new PID namespace sharing the directory, where
  // our PID means nothing (a container sharing /tmp with the host, a simulator under unshare --pid).
  const ours = createRuntimeDir(NATIVE_WORKER_PATH, { base: tmp, shm });
  try {
    const clean = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        '--',
        process.execPath,
        '--input-type=module',
        '-e',
        `import { removeStaleDirs } from ${JSON.stringify(new URL('../../src/engine/runtime-dir.ts', import.meta.url).href)};
         removeStaleDirs(${JSON.stringify(tmp)}); removeStaleDirs(${JSON.stringify(shm)}); process.stdout.write('cleaned\\n');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    clean.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const code = await new Promise((resolve) => clean.once('exit', resolve));
    assert.equal(code, 0, 'unshare --pid needs root: this test fails without it');
    assert.match(output, /cleaned/);
    assert.ok(existsSync(join(ours.path, 'worker')), 'our files survive a cleaner in another PID namespace');
    assert.equal(readdirSync(shm).length, 1);

    // A directory whose engine ran in another namespace during an earlier boot is stale for sure.
    const old = join(tmp, `${DIR_PREFIX}earlierboot`);
    mkdirSync(old, { mode: 0o700 });
    writeFileSync(join(old, 'engine.pid'), '1 12345 pid:[1] 00000000-0000-0000-0000-000000000000\n', {
      mode: 0o600,
    });
    const otherNamespace = join(tmp, `${DIR_PREFIX}othernamespace`);
    mkdirSync(otherNamespace, { mode: 0o700 });
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(join(otherNamespace, 'engine.pid'), `1 12345 pid:[1] ${boot}\n`, { mode: 0o600 });
    removeStaleDirs(tmp);
    assert.ok(!existsSync(old), 'an earlier boot’s directory is removed');
    assert.ok(existsSync(otherNamespace), 'this boot, another namespace: kept');
    assert.ok(existsSync(ours.path));
  } finally {
    ours.remove();
  }
});

test('an entry found where a link should go is replaced by our own link, never used', () => {
  const tmp = base();
  const runtime = createRuntimeDir(NATIVE_WORKER_PATH, { base: tmp, shm: tmp });
  try {
    const planted = join(runtime.path, 'bin', 'redis-server');
    writeFileSync(planted, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const file = runtime.executableFor('redis-server');
    assert.equal(file, planted);
    assert.equal(statSync(file).ino, statSync(join(runtime.path, 'worker')).ino, 'a hard link to our worker');
    assert.throws(() => runtime.executableFor('../escape'), /not a process name/);
    runtime.release('redis-server');
    assert.equal(existsSync(file), false);
  } finally {
    runtime.remove();
  }
});

test('XDG_RUNTIME_DIR is used only when it is a private directory of ours', () => {
  const xdg = base();
  chmodSync(xdg, 0o700);
  assert.equal(defaultRuntimeBase({ XDG_RUNTIME_DIR: xdg }), xdg);
  chmodSync(xdg, 0o755);
  assert.equal(defaultRuntimeBase({ XDG_RUNTIME_DIR: xdg }), tmpdir(), 'readable by others: not private');
  chmodSync(xdg, 0o700);
  chownSync(xdg, NOBODY, NOBODY);
  assert.equal(defaultRuntimeBase({ XDG_RUNTIME_DIR: xdg }), tmpdir(), "another user's");
  assert.equal(defaultRuntimeBase({ XDG_RUNTIME_DIR: 'relative/dir' }), tmpdir());
  assert.equal(defaultRuntimeBase({}), tmpdir());
});
