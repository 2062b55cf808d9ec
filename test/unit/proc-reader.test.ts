import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProcReader } from '../../src/proc/reader.ts';

const fixtures = new URL('../fixtures/proc/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, fixtures));
const BOOT_TIME = 1795931108;
const SLEEP_PID = 15746;

/**
 * Lays out a fake filesystem root: proc/ holds the captured files of a live sleep, a zombie and a kernel
 * thread; etc/passwd names their owners.
 */
function buildFakeRoot(): string {
  const top = mkdtempSync(join(tmpdir(), 'proc-reader-'));
  const proc = join(top, 'proc');
  const addProcess = (pid: number, files: Record<string, Buffer | string>, fds: number, exe?: string) => {
    const dir = join(proc, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    for (let fd = 0; fd < fds; fd++) writeFileSync(join(dir, 'fd', String(fd)), '');
    if (exe) symlinkSync(exe, join(dir, 'exe'));
  };
  const sleepFiles = {
    stat: fixture('live-sleep/stat'),
    statm: fixture('live-sleep/statm'),
    status: fixture('live-sleep/status'),
    io: fixture('live-sleep/io'),
    cmdline: fixture('live-sleep/cmdline'),
  };
  mkdirSync(proc, { recursive: true });
  copyFileSync(new URL('proc-stat', fixtures), join(proc, 'stat'));
  mkdirSync(join(top, 'etc'));
  copyFileSync(new URL('passwd', fixtures), join(top, 'etc', 'passwd'));
  addProcess(SLEEP_PID, sleepFiles, 3, '/usr/bin/sleep');
  const withUid = (uid: number) =>
    fixture('live-sleep/status').toString().replace('Uid:\t0\t', `Uid:\t${uid}\t`);
  addProcess(1000, { ...sleepFiles, status: withUid(1000) }, 1, '/usr/bin/sleep');
  addProcess(4321, { ...sleepFiles, status: withUid(4321) }, 1, '/usr/bin/sleep');
  addProcess(
    15983,
    {
      stat: fixture('zombie/stat'),
      statm: fixture('zombie/statm'),
      status: fixture('zombie/status'),
      io: fixture('zombie/io'),
      cmdline: fixture('zombie/cmdline'),
    },
    0,
  );
  addProcess(2, { ...sleepFiles, stat: fixture('kthread/stat'), cmdline: fixture('kthread/cmdline') }, 0);
  // A file the kernel would never make a directory: reading it fails with EISDIR, not "gone".
  addProcess(77, { ...sleepFiles }, 1, '/usr/bin/sleep');
  rmSync(join(proc, '77', 'io'));
  mkdirSync(join(proc, '77', 'io'));
  return top;
}

/** An auxiliary vector with the given clock ticks and page size, 64-bit little-endian pairs. */
function auxv(clockTicks: number, pageSize: number): Buffer {
  const words = [17, clockTicks, 6, pageSize, 0, 0];
  const buf = Buffer.alloc(words.length * 8);
  for (const [i, w] of words.entries()) buf.writeBigUInt64LE(BigInt(w), i * 8);
  return buf;
}

describe('reader on a fake /proc tree', () => {
  let top = '';
  before(() => {
    top = buildFakeRoot();
  });
  after(() => rmSync(top, { recursive: true, force: true }));

  it('falls back to 100 ticks per second and 4 KiB pages without self/auxv, and reads btime', () => {
    const reader = createProcReader({ root: join(top, 'proc') });
    assert.equal(reader.clockTicks, 100);
    assert.equal(reader.pageSize, 4096);
    assert.equal(reader.bootTimeSeconds, BOOT_TIME);
  });

  it('converts ticks to seconds and pages to bytes, with RSS from statm', () => {
    const reader = createProcReader({ root: `${join(top, 'proc')}/` });
    const before = Date.now();
    const sample = reader.readProcess(SLEEP_PID);
    assert.ok(sample);
    assert.ok(sample.readAtMs >= before && sample.readAtMs <= Date.now());
    assert.deepEqual(sample, {
      pid: SLEEP_PID,
      ppid: 15744,
      name: 'sleep',
      state: 'S',
      cpuUserSeconds: 0,
      cpuSystemSeconds: 0,
      cpuWaitSeconds: 0,
      rssBytes: 451 * 4096,
      vmsBytes: 730 * 4096,
      threads: 1,
      openFds: 3,
      readChars: 6976,
      writeChars: 0,
      voluntaryCtxSwitches: 1,
      involuntaryCtxSwitches: 1,
      minorFaults: 117,
      majorFaults: 0,
      startTimeMs: BOOT_TIME * 1000 + 420_330,
      startTicks: 42_033,
      readAtMs: sample.readAtMs,
    });
  });

  it('reads the same sample without status when context switches are not wanted, leaving those at 0', () => {
    const root = join(top, 'proc');
    const full = createProcReader({ root }).readProcess(SLEEP_PID);
    const lean = createProcReader({ root, contextSwitches: false }).readProcess(SLEEP_PID);
    assert.ok(full && lean);
    assert.deepEqual(
      { ...lean, readAtMs: 0 },
      { ...full, readAtMs: 0, voluntaryCtxSwitches: 0, involuntaryCtxSwitches: 0 },
    );
  });

  it('takes clock ticks and page size from self/auxv when it is there', () => {
    mkdirSync(join(top, 'proc', 'self'), { recursive: true });
    writeFileSync(join(top, 'proc', 'self', 'auxv'), auxv(250, 16384));
    try {
      const reader = createProcReader({ root: join(top, 'proc') });
      assert.equal(reader.clockTicks, 250);
      const sample = reader.readProcess(SLEEP_PID);
      assert.equal(sample?.rssBytes, 451 * 16384);
      assert.equal(sample?.startTimeMs, BOOT_TIME * 1000 + (42033 * 1000) / 250);
    } finally {
      rmSync(join(top, 'proc', 'self'), { recursive: true });
    }
  });

  it('returns undefined for a zombie and for a pid that is not there', () => {
    const reader = createProcReader({ root: join(top, 'proc') });
    assert.equal(reader.readProcess(15983), undefined);
    assert.equal(reader.readIdentity(15983), undefined);
    assert.equal(reader.readProcess(4242), undefined);
    assert.equal(reader.readIdentity(4242), undefined);
  });

  it('reads the identity, naming the owner from etc/passwd beside the proc root', () => {
    const reader = createProcReader({ root: join(top, 'proc') });
    assert.deepEqual(reader.readIdentity(SLEEP_PID), {
      executablePath: '/usr/bin/sleep',
      commandLine: ['/bin/sleep', '30'],
      owner: 'root',
    });
    assert.equal(reader.readIdentity(1000)?.owner, 'simulator');
    assert.equal(reader.readIdentity(4321)?.owner, '4321');
  });

  it('gives a kernel thread an empty executable path and command line', () => {
    const reader = createProcReader({ root: join(top, 'proc') });
    assert.deepEqual(reader.readIdentity(2), { executablePath: '', commandLine: [], owner: 'root' });
  });

  it('throws naming the pid and the file when a read fails for another reason than exit', () => {
    const reader = createProcReader({ root: join(top, 'proc') });
    assert.throws(() => reader.readProcess(77), /77\/io of pid 77: EISDIR/);
    assert.throws(() => reader.readProcess(-1), /pid must be a positive integer, got -1 \(number\)/);
  });

  it('throws naming the file when the root has no stat', () => {
    assert.throws(() => createProcReader({ root: top }), /Reading the boot time from .*\/stat: ENOENT/);
  });
});

describe('reader on the real /proc', () => {
  const reader = createProcReader();
  const children: ChildProcess[] = [];
  const SLEEP = realpathSync('/bin/sleep');

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, 'SIGKILL');
        await once(child, 'exit');
      }
    }
  });

  /**
   * Spawns `args` and waits (bounded) until the child has exec'd `comm` and sleeps: right after exec the
   * loader is still mapping libraries and the RSS still grows.
   */
  async function spawnSleeping(comm: string, args: string[]): Promise<ChildProcess & { pid: number }> {
    const child = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    const pid = child.pid;
    assert.ok(pid, `spawn ${args[0]} gave no pid`);
    const settled = () => {
      const sample = reader.readProcess(pid);
      return sample?.name === comm && sample.state === 'S';
    };
    for (let i = 0; i < 100 && !settled(); i++) await sleep(20);
    assert.ok(settled(), `${args.join(' ')} did not come to sleep as ${comm} within 2 s`);
    return child as ChildProcess & { pid: number };
  }

  it('reads the constants of this machine', () => {
    assert.equal(reader.clockTicks, Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })));
    assert.equal(reader.pageSize, Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' })));
    assert.ok(reader.bootTimeSeconds > 1e9 && reader.bootTimeSeconds * 1000 < Date.now());
  });

  it('reads a live sleep as ps sees it, then nothing once it is killed', async () => {
    const spawnedAt = Date.now();
    const child = await spawnSleeping('sleep', ['/bin/sleep', '30']);
    const sample = reader.readProcess(child.pid);
    assert.ok(sample);
    const ps = execFileSync('ps', ['-o', 'rss=,nlwp=,comm=', '-p', String(child.pid)], { encoding: 'utf8' });
    const [rssKb, nlwp, comm] = ps.trim().split(/\s+/);
    assert.equal(sample.rssBytes, Number(rssKb) * 1024);
    assert.equal(sample.threads, Number(nlwp));
    assert.equal(sample.name, comm);
    assert.equal(sample.ppid, process.pid);
    assert.equal(sample.state, 'S');
    assert.equal(sample.openFds, readdirSync(`/proc/${child.pid}/fd`).length);
    // btime is whole seconds, so the start time may be off by up to one second, plus a tick.
    assert.ok(Math.abs(sample.startTimeMs - spawnedAt) < 2000, `start ${sample.startTimeMs} vs ${spawnedAt}`);
    assert.deepEqual(reader.readIdentity(child.pid), {
      executablePath: SLEEP,
      commandLine: ['/bin/sleep', '30'],
      owner: userInfo().username,
    });

    process.kill(child.pid, 'SIGKILL');
    await once(child, 'exit');
    assert.equal(reader.readProcess(child.pid), undefined);
    assert.equal(reader.readIdentity(child.pid), undefined);
  });

  it('reads a real zombie as gone', async () => {
    // The shell's child exits at once, and the sleep the shell becomes never reaps it.
    const parent = await spawnSleeping('sleep', [
      '/bin/sh',
      '-c',
      '/bin/sleep 0 & echo $!; exec /bin/sleep 30',
    ]);
    const [line] = (await once(parent.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const zombie = Number(line.toString().trim());
    let state = '';
    for (let i = 0; i < 100 && state !== 'Z'; i++) {
      await sleep(20);
      const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
      state = stat.charAt(stat.lastIndexOf(')') + 2);
    }
    assert.equal(state, 'Z');
    assert.equal(reader.readProcess(zombie), undefined);
    assert.equal(reader.readIdentity(zombie), undefined);
    process.kill(parent.pid, 'SIGKILL');
    await once(parent, 'exit');
  });
});
