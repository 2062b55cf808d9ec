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
const MULTI_PID = 500;
/** tid, voluntary, nonvoluntary switches of MULTI_PID's three threads */
const TASKS = [
  [500, 7, 1],
  [501, 20, 3],
  [502, 100, 0],
] as const;

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
  // Three threads: the leader's status holds its own switches only, each task/TID/status its thread's.
  const threeThreads = fixture('live-sleep/status')
    .toString()
    .replace('Threads:\t1', 'Threads:\t3')
    .replace('ShdPnd:\t0000000000000000', 'ShdPnd:\t0000000000000a00');
  addProcess(
    MULTI_PID,
    { ...sleepFiles, status: threeThreads, cgroup: '0::/a b\n1:cpu:/x\n' },
    3,
    '/usr/bin/sleep',
  );
  for (const [tid, voluntary, nonvoluntary] of TASKS) {
    mkdirSync(join(proc, String(MULTI_PID), 'task', String(tid)), { recursive: true });
    writeFileSync(
      join(proc, String(MULTI_PID), 'task', String(tid), 'status'),
      threeThreads
        .replace('voluntary_ctxt_switches:\t1', `voluntary_ctxt_switches:\t${voluntary}`)
        .replace('nonvoluntary_ctxt_switches:\t1', `nonvoluntary_ctxt_switches:\t${nonvoluntary}`),
    );
  }
  // A thread that exited between the listing and its read: its directory without a status file.
  mkdirSync(join(proc, String(MULTI_PID), 'task', '9999'));
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
      readSyscalls: 10,
      writeSyscalls: 0,
      voluntaryCtxSwitches: 1,
      involuntaryCtxSwitches: 1,
      signalsPending: 0,
      // no meminfo in this tree
      memoryPercent: undefined,
      cpuUtilization: undefined,
      minorFaults: 117,
      majorFaults: 0,
      startTimeMs: BOOT_TIME * 1000 + 420_330,
      startTicks: 42_033,
      readAtMs: sample.readAtMs,
    });
  });

  it('reads the same sample without status when neither context switches nor signals are wanted', () => {
    const root = join(top, 'proc');
    const full = createProcReader({ root }).readProcess(MULTI_PID);
    const lean = createProcReader({ root, contextSwitches: false, signalsPending: false }).readProcess(
      MULTI_PID,
    );
    assert.ok(full && lean);
    assert.deepEqual(
      { ...lean, readAtMs: 0 },
      { ...full, readAtMs: 0, voluntaryCtxSwitches: 0, involuntaryCtxSwitches: 0, signalsPending: 0 },
    );
    // without status, the leader's status is not read at all: a broken one goes unnoticed
    const onlySignals = createProcReader({ root, contextSwitches: false }).readProcess(MULTI_PID);
    assert.equal(onlySignals?.signalsPending, 2560);
    assert.equal(onlySignals?.voluntaryCtxSwitches, 0);
  });

  it('sums the context switches over the threads of a process, as the collector does', () => {
    const sample = createProcReader({ root: join(top, 'proc') }).readProcess(MULTI_PID);
    assert.ok(sample);
    assert.equal(sample.voluntaryCtxSwitches, 7 + 20 + 100, 'every thread, not the leader alone');
    assert.equal(sample.involuntaryCtxSwitches, 1 + 3 + 0);
    assert.equal(sample.signalsPending, 2560);
    // one thread: its status alone, task/ not listed
    assert.equal(
      createProcReader({ root: join(top, 'proc') }).readProcess(SLEEP_PID)?.voluntaryCtxSwitches,
      1,
    );
  });

  it('reads the cgroup file whole, less its final newline, only when asked', () => {
    const root = join(top, 'proc');
    assert.equal(
      createProcReader({ root, cgroup: true }).readIdentity(MULTI_PID)?.cgroup,
      '0::/a b\n1:cpu:/x',
    );
    assert.equal(createProcReader({ root }).readIdentity(MULTI_PID)?.cgroup, undefined);
  });

  it('gives memory utilization as the collector computes it, a float32 percentage of MemTotal', () => {
    writeFileSync(join(top, 'proc', 'meminfo'), fixture('meminfo'));
    writeFileSync(join(top, 'proc', 'cpuinfo'), fixture('cpuinfo'));
    try {
      const reader = createProcReader({ root: join(top, 'proc') });
      assert.equal(reader.memTotalBytes, 24683584 * 1024);
      assert.equal(reader.logicalCpus, 2);
      const sample = reader.readProcess(SLEEP_PID);
      // Go: 100 * float32(rss) / float32(total), each step rounded to float32
      const f32 = new Float32Array(3);
      f32[0] = 451 * 4096;
      f32[1] = 100 * (f32[0] as number);
      f32[2] = (f32[1] as number) / Math.fround(24683584 * 1024);
      assert.equal(sample?.memoryPercent, f32[2]);
      // the collector's own reading of a sleep of 1,822,720 bytes on this MemTotal: 0.0072112703
      assert.ok(Math.abs((sample?.memoryPercent ?? 0) - (451 * 4096 * 100) / (24683584 * 1024)) < 1e-9);
    } finally {
      rmSync(join(top, 'proc', 'meminfo'));
      rmSync(join(top, 'proc', 'cpuinfo'));
    }
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
      cgroup: undefined,
    });
    assert.equal(reader.readIdentity(1000)?.owner, 'simulator');
    assert.equal(reader.readIdentity(4321)?.owner, '4321');
  });

  it('gives a kernel thread an empty executable path and command line', () => {
    const reader = createProcReader({ root: join(top, 'proc') });
    assert.deepEqual(reader.readIdentity(2), {
      executablePath: '',
      commandLine: [],
      owner: 'root',
      cgroup: undefined,
    });
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
      cgroup: undefined,
    });

    process.kill(child.pid, 'SIGKILL');
    await once(child, 'exit');
    assert.equal(reader.readProcess(child.pid), undefined);
    assert.equal(reader.readIdentity(child.pid), undefined);
  });

  it('reads the CPUs, MemTotal and a cgroup as the machine has them', async () => {
    const processors = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:\s*\d+$/gm)?.length;
    assert.equal(reader.logicalCpus, processors);
    const memTotal =
      Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    assert.equal(reader.memTotalBytes, memTotal);
    const child = await spawnSleeping('sleep', ['/bin/sleep', '30']);
    const identity = createProcReader({ cgroup: true }).readIdentity(child.pid);
    assert.equal(identity?.cgroup, readFileSync(`/proc/${child.pid}/cgroup`, 'utf8').replace(/\n$/, ''));
    process.kill(child.pid, 'SIGKILL');
    await once(child, 'exit');
  });

  it('sums the context switches of 16 idle threads exactly as their task files hold them', async () => {
    // 15 threads that block at once and stay blocked: their counters stand still while both are read.
    const script =
      'import threading,sys\nev=threading.Event()\n' +
      '[threading.Thread(target=ev.wait,daemon=True).start() for _ in range(15)]\n' +
      'print("ready",flush=True)\nsys.stdin.read()\n';
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(child);
    await once(child.stdout as NodeJS.ReadableStream, 'data');
    const pid = child.pid as number;
    const tasks = () => {
      let voluntary = 0;
      let nonvoluntary = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
        nonvoluntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
      }
      return { voluntary, nonvoluntary };
    };
    // Read until the process holds still between two looks (the main thread sleeps in read()).
    let sample = reader.readProcess(pid);
    let direct = tasks();
    for (let i = 0; i < 50 && sample?.voluntaryCtxSwitches !== direct.voluntary; i++) {
      await sleep(20);
      direct = tasks();
      sample = reader.readProcess(pid);
    }
    assert.equal(sample?.threads, 16);
    assert.equal(sample?.voluntaryCtxSwitches, direct.voluntary);
    assert.equal(sample?.involuntaryCtxSwitches, direct.nonvoluntary);
    const leader = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.ok(
      direct.voluntary > Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(leader)?.[1]),
      'the sum is more than the leader alone',
    );
    child.stdin?.end();
    await once(child, 'exit');
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
