/**
 * The recorder on a made-up /proc tree (files captured from a live kernel, see test/fixtures/proc):
 * what it records, what it counts as left out and why, and its filters. The real /proc is read by the
 * integration tests.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { record } from '../../src/capture/recorder.ts';

const fixtures = new URL('../fixtures/proc/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, fixtures), 'utf8');
let top = '';
let proc = '';

/** A process directory: the live sleep's files with another pid, comm, parent, owner and cgroup. */
function addProcess(
  pid: number,
  options: {
    comm?: string;
    ppid?: number;
    uid?: number;
    cgroup?: string;
    exe?: string;
    cmdline?: string;
  } = {},
) {
  const dir = join(proc, String(pid));
  mkdirSync(join(dir, 'fd'), { recursive: true });
  const comm = options.comm ?? 'sleep';
  const stat = fixture('live-sleep/stat').replace(
    /^15746 \(sleep\) S 15744/,
    `${pid} (${comm}) S ${options.ppid ?? 1}`,
  );
  writeFileSync(join(dir, 'stat'), stat);
  writeFileSync(join(dir, 'statm'), fixture('live-sleep/statm'));
  writeFileSync(
    join(dir, 'status'),
    fixture('live-sleep/status').replace('Uid:\t0\t', `Uid:\t${options.uid ?? 0}\t`),
  );
  writeFileSync(join(dir, 'io'), fixture('live-sleep/io'));
  writeFileSync(join(dir, 'cmdline'), options.cmdline ?? `/bin/${comm}\u000030\u0000`);
  writeFileSync(join(dir, 'comm'), `${comm}\n`);
  writeFileSync(join(dir, 'cgroup'), `0::${options.cgroup ?? '/system.slice/app.service'}\n`);
  for (let fd = 0; fd < 4; fd++) writeFileSync(join(dir, 'fd', String(fd)), '');
  if (options.exe !== '') symlinkSync(options.exe ?? `/bin/${comm}`, join(dir, 'exe'));
}

before(() => {
  top = mkdtempSync(join(tmpdir(), 'capture-recorder-'));
  proc = join(top, 'proc');
  mkdirSync(proc);
  copyFileSync(new URL('proc-stat', fixtures), join(proc, 'stat'));
  mkdirSync(join(top, 'etc'));
  writeFileSync(join(top, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n');
  addProcess(100, { comm: 'nginx', uid: 33, cgroup: '/system.slice/nginx.service' });
  addProcess(101, { comm: 'nginx', uid: 33, cgroup: '/system.slice/nginx.service' });
  addProcess(200, { comm: 'postgres', cgroup: '/system.slice/postgresql.service' });
  addProcess(2, { comm: 'kthreadd', ppid: 0, exe: '', cmdline: '' });
  addProcess(3, { comm: 'kworker/0:1', ppid: 2, exe: '', cmdline: '' });
  addProcess(process.pid, { comm: 'node' });
  // A file the kernel would never make a directory: reading it fails (EISDIR), as EACCES would.
  addProcess(300, { comm: 'guarded' });
  rmSync(join(proc, '300', 'io'));
  mkdirSync(join(proc, '300', 'io'));
});
after(() => rmSync(top, { recursive: true, force: true }));

test('records user processes at every reading; kernel threads, unreadable ones and itself are counted as left out', async () => {
  const progress: number[] = [];
  const recording = await record({
    root: proc,
    durationMs: 200,
    intervalMs: 100,
    onProgress: (p) => progress.push(p.reading),
  });
  assert.equal(recording.readings.length, 3);
  assert.deepEqual(progress, [1, 2, 3]);
  assert.deepEqual(
    recording.processes.map((p) => [p.pid, p.name, p.owner, p.args, p.cgroup, p.points.length]),
    [
      [100, 'nginx', 'web', ['30'], '/system.slice/nginx.service', 3],
      [101, 'nginx', 'web', ['30'], '/system.slice/nginx.service', 3],
      [200, 'postgres', 'root', ['30'], '/system.slice/postgresql.service', 3],
    ],
  );
  const point = recording.processes[0]?.points[0];
  assert.deepEqual(
    point?.slice(2),
    [0, Number(fixture('live-sleep/statm').split(' ')[1]) * 4096, 1, 4],
    'cpu seconds, statm resident x page size, threads, fds',
  );
  assert.deepEqual(
    recording.skipped.map((s) => [s.name, s.processes, s.reason.replace(/:.*$/s, '')]),
    [
      ['kernel threads', 2, 'kernel threads are not processes a program can start'],
      ['guarded', 1, 'cannot be read'],
      ['the capture itself', 1, 'the process doing the recording'],
    ],
  );
  assert.match(recording.skipped[1]?.reason ?? '', /300\/io.*EISDIR/);
});

test('filters by name, user and cgroup, and never records an excluded name', async () => {
  const names = async (filter: Parameters<typeof record>[0]['filter']) =>
    (await record({ root: proc, durationMs: 100, intervalMs: 100, filter })).processes.map((p) => p.pid);
  assert.deepEqual(await names({ names: ['ngin?'] }), [100, 101]);
  assert.deepEqual(await names({ users: ['root'] }), [200]);
  assert.deepEqual(await names({ users: ['web'], cgroups: ['/system.slice/postgresql.service'] }), []);
  assert.deepEqual(await names({ cgroups: ['/system.slice'], exclude: ['nginx'] }), [200]);
});

test('a process gone between readings ends its record; a PID reused by a new process starts another', async () => {
  const controller = new AbortController();
  let readingsSeen = 0;
  const recording = await record({
    root: proc,
    durationMs: 400,
    intervalMs: 100,
    filter: { names: ['postgres', 'redis'] },
    signal: controller.signal,
    onProgress: (p) => {
      readingsSeen = p.reading;
      // After the second reading, postgres (200) exits and its PID comes back as redis, started later.
      if (p.reading === 2) {
        rmSync(join(proc, '200'), { recursive: true });
        addProcess(200, { comm: 'redis' });
        const stat = join(proc, '200', 'stat');
        writeFileSync(stat, readFileSync(stat, 'utf8').replace(/ 42033 /, ' 52033 '));
      }
      if (p.reading === 4) controller.abort();
    },
  });
  assert.equal(readingsSeen, 4, 'the signal ends the recording after the fourth reading');
  assert.deepEqual(
    recording.processes.map((p) => [p.name, p.points.map((point) => point[0])]),
    [
      ['postgres', [0, 1]],
      ['redis', [2, 3]],
    ],
  );
  assert.ok(
    (recording.processes[1]?.startTimeMs ?? 0) - (recording.processes[0]?.startTimeMs ?? 0) === 100_000,
  );
});
