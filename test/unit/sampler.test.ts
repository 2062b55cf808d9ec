/**
 * The sampler over a /proc tree laid out on disk (the reader's configurable root): one process whose
 * files cannot be read costs that process, not the snapshot of the others. The read errors are real
 * ones from the kernel: a directory where a file should be (EISDIR), and a file whose read fails with
 * EIO even for root (a link to this process's own /proc/self/mem, unmapped at offset 0).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProcReader } from '../../src/proc/reader.ts';
import { Sampler, type SampleSource, type SampleStats } from '../../src/sampler/sampler.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { fakeProcRoot, fixture } from '../helpers/fake-proc.ts';
import { sleepInfo } from '../helpers/sampled-info.ts';

const HEALTHY = [101, 104];
const NOT_A_FILE = 102;
const EIO = 103;
const ALL = [101, NOT_A_FILE, EIO, 104];

/** A proc root with four copies of a live sleep, each with its own pid in stat. */
function buildRoot(): string {
  const proc = fakeProcRoot('sampler-', ALL);
  breakIo(proc, NOT_A_FILE);
  rmSync(join(proc, String(EIO), 'io'));
  symlinkSync('/proc/self/mem', join(proc, String(EIO), 'io'));
  return proc;
}

function breakIo(proc: string, pid: number): void {
  rmSync(join(proc, String(pid), 'io'), { force: true });
  mkdirSync(join(proc, String(pid), 'io'));
}

function repairIo(proc: string, pid: number): void {
  rmSync(join(proc, String(pid), 'io'), { recursive: true });
  writeFileSync(join(proc, String(pid), 'io'), fixture('live-sleep/io'));
}

const info = sleepInfo;

/** The engine's side of the seam: these PIDs are live and ours. */
const source: SampleSource = {
  liveProcesses: () => ALL.map(info),
  owns: (pid) => ALL.includes(pid),
  processInfo: (pid) => (ALL.includes(pid) ? info(pid) : undefined),
  recordSampled: () => {},
};

describe('a sample with processes that cannot be read', () => {
  let proc = '';
  before(() => {
    proc = buildRoot();
  });
  after(() => rmSync(join(proc, '..'), { recursive: true, force: true }));

  it('publishes every readable process and reports each unreadable one with its error, once', async () => {
    const store = new SnapshotStore();
    const stats: SampleStats[] = [];
    const reported: Array<{ pid: number; message: string }> = [];
    const sampler = new Sampler({
      source,
      reader: createProcReader({ root: proc }),
      store,
      onSample: (s) => stats.push(s),
      onReadError: (pid, error) => reported.push({ pid, message: error.message }),
    });

    await sampler.sampleNow();
    const first = store.latest();
    assert.deepEqual([...first.processes.keys()].sort(), HEALTHY, 'the readable processes are published');
    for (const pid of HEALTHY) {
      const sample = first.processes.get(pid)?.sample;
      assert.equal(sample?.pid, pid);
      assert.equal(sample?.readChars, 6976, `io of ${pid}`);
      assert.equal(sample?.openFds, 3, `fds of ${pid}`);
    }
    assert.deepEqual([...first.unreadable.keys()].sort(), [NOT_A_FILE, EIO]);
    assert.match(
      first.unreadable.get(NOT_A_FILE) ?? '',
      new RegExp(`/${NOT_A_FILE}/io of pid ${NOT_A_FILE}: EISDIR`),
    );
    assert.match(first.unreadable.get(EIO) ?? '', new RegExp(`/${EIO}/io of pid ${EIO}: EIO`));
    assert.deepEqual(
      stats.map(({ processes, vanished, unreadable }) => ({ processes, vanished, unreadable })),
      [{ processes: 2, vanished: 0, unreadable: 2 }],
    );
    assert.deepEqual(reported.map((r) => r.pid).sort(), [NOT_A_FILE, EIO], 'each failing process reported');

    // A lasting failure is counted at every sample and reported once.
    await sampler.sampleNow();
    assert.equal(stats.at(-1)?.unreadable, 2);
    assert.equal(reported.length, 2, 'not reported again while it keeps failing');
    assert.equal(store.latest().processes.get(101)?.cpuPercent, 0, 'the others keep their CPU rate');

    // Readable again: back in the snapshot, out of the failures; failing again later: reported again.
    repairIo(proc, NOT_A_FILE);
    await sampler.sampleNow();
    assert.deepEqual([...store.latest().processes.keys()].sort(), [101, NOT_A_FILE, 104]);
    assert.deepEqual([...store.latest().unreadable.keys()], [EIO]);
    breakIo(proc, NOT_A_FILE);
    await sampler.sampleNow();
    assert.deepEqual([...store.latest().unreadable.keys()].sort(), [NOT_A_FILE, EIO]);
    assert.deepEqual(
      reported.map((r) => r.pid),
      [NOT_A_FILE, EIO, NOT_A_FILE],
      'reported again once it fails after a good read',
    );
  });

  it('warns on its own when no one listens for read errors', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const store = new SnapshotStore();
      await new Sampler({ source, reader: createProcReader({ root: proc }), store }).sampleNow();
      // warnings are emitted on the next tick
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual([...store.latest().processes.keys()].sort(), HEALTHY);
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.ok(
        warnings.every((w) => /^sampling left out pid 10[23]: Reading .*\/io of pid 10[23]: E/.test(w)),
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a process read before its argv is set', () => {
  it('is left out until its command line is there, and then keeps the real one', async () => {
    const proc = buildRoot();
    try {
      const cmdline = join(proc, '101', 'cmdline');
      const full = readFileSync(cmdline);
      assert.ok(full.length > 0);
      // Between the exec and the kernel setting argv, /proc/PID/cmdline is empty.
      writeFileSync(cmdline, '');
      const store = new SnapshotStore();
      const stats: SampleStats[] = [];
      const sampler = new Sampler({
        source,
        reader: createProcReader({ root: proc }),
        store,
        onSample: (s) => stats.push(s),
        onReadError: () => {},
      });
      await sampler.sampleNow();
      assert.deepEqual([...store.latest().processes.keys()].sort(), [104]);
      assert.equal(stats.at(-1)?.vanished, 1, 'counted as not there yet, not as unreadable');
      writeFileSync(cmdline, full);
      await sampler.sampleNow();
      const entry = store.latest().processes.get(101);
      assert.ok(entry, 'read once its argv is set');
      assert.deepEqual(entry.identity.commandLine, full.toString().replace(/\0+$/, '').split('\0'));
      assert.ok(entry.identity.commandLine[0], 'a command, never the empty one');
    } finally {
      rmSync(join(proc, '..'), { recursive: true, force: true });
    }
  });
});
