/**
 * What the sampler reads between two samples, over a /proc tree laid out on disk: a new process within
 * its delay (gathered, at most one pass per gap), a final reading right before an end that goes out once
 * as departed, and the utilization between two readings of one process as the collector computes it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProcReader } from '../../src/proc/reader.ts';
import { Sampler, type SampleSource } from '../../src/sampler/sampler.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { fakeProcRoot, fixture, sleepStat } from '../helpers/fake-proc.ts';
import { sleepInfo } from '../helpers/sampled-info.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

function buildRoot(pids: number[]): string {
  return fakeProcRoot('sampler-between-', pids, { utime: 0, stime: 0, blkio: 0 });
}

const info = sleepInfo;

/** An engine's side of the seam whose live set the test changes, recording what was read. */
function fakeSource(live: Set<number>) {
  const readings: Array<{ pid: number; readAtMs: number; final: boolean }> = [];
  const source: SampleSource = {
    liveProcesses: () => [...live].map(info),
    owns: (pid) => live.has(pid),
    processInfo: (pid) => (live.has(pid) ? info(pid) : undefined),
    recordSampled: (pid, readAtMs, final) => readings.push({ pid, readAtMs, final }),
  };
  return { source, readings };
}

describe('readings between samples', () => {
  const PIDS = [201, 202, 203, 204];
  let proc = '';
  before(() => {
    proc = buildRoot(PIDS);
  });
  after(() => rmSync(join(proc, '..'), { recursive: true, force: true }));

  it('reads a new process after its delay into the latest snapshot, without publishing one', async () => {
    const live = new Set([201]);
    const { source, readings } = fakeSource(live);
    const store = new SnapshotStore();
    let published = 0;
    store.onPublish(() => published++);
    const sampler = new Sampler({ source, reader: createProcReader({ root: proc }), store });
    await sampler.sampleNow();
    assert.equal(published, 1);
    live.add(202);
    live.add(203);
    sampler.sampleSoon(202);
    sampler.sampleSoon(203);
    await waitFor('the new processes in the latest snapshot', { timeoutMs: 5000, everyMs: 10 }, () =>
      [202, 203].every((pid) => store.latest().processes.has(pid)),
    );
    assert.equal(published, 1, 'no snapshot published for them');
    assert.deepEqual([...store.latest().processes.keys()].sort(), [201, 202, 203]);
    assert.deepEqual(
      readings.filter((r) => r.pid !== 201).map((r) => [r.pid, r.final]),
      [
        [202, false],
        [203, false],
      ],
    );
    // gathered: both read in one pass, one after the other
    const [a, b] = readings.filter((r) => r.pid !== 201);
    assert.ok(a && b && Math.abs(a.readAtMs - b.readAtMs) < 1000);
    assert.equal(store.latest().processes.get(202)?.sample.cpuUtilization, undefined, 'a first reading');
    sampler.stop();
  });

  it('reads no second pass within the gap; a sample reads what waits and clears it', async () => {
    const live = new Set([201]);
    const { source, readings } = fakeSource(live);
    const store = new SnapshotStore();
    const sampler = new Sampler({
      source,
      reader: createProcReader({ root: proc }),
      store,
      newProcessDelayMs: 10,
      newProcessGapMs: 600_000,
    });
    live.add(202);
    sampler.sampleSoon(202);
    await waitFor('the first pass', { timeoutMs: 5000, everyMs: 10 }, () =>
      store.latest().processes.has(202),
    );
    live.add(203);
    sampler.sampleSoon(203);
    // the next pass is ten minutes away: 203 waits (a pause long enough for a pass at the delay)
    await sleep(300);
    assert.equal(store.latest().processes.has(203), false, 'no second pass within the gap');
    await sampler.sampleNow();
    assert.deepEqual([...store.latest().processes.keys()].sort(), [201, 202, 203]);
    const reads203 = readings.filter((r) => r.pid === 203).length;
    sampler.stop();
    await sleep(50);
    assert.equal(readings.filter((r) => r.pid === 203).length, reads203, 'stop cancels the waiting pass');
  });

  it('reads what waits at once when an exporter collects (fresh), and keeps it through a sample under way', async () => {
    const live = new Set([201]);
    const { source } = fakeSource(live);
    const store = new SnapshotStore();
    // one process per chunk: the sample yields after each, so a collect can land in the middle of it
    const sampler = new Sampler({
      source,
      reader: createProcReader({ root: proc }),
      store,
      chunkSize: 1,
      newProcessGapMs: 600_000,
      newProcessDelayMs: 600_000,
    });
    await sampler.sampleNow();
    live.add(202);
    sampler.sampleSoon(202);
    assert.equal(store.latest().processes.has(202), false, 'not read before anyone asks');
    assert.equal(store.fresh().processes.has(202), true, 'read when an exporter collects');
    // a sample lists 201 and 202, then 203 starts and is collected while it runs: the sample keeps it
    const sampling = sampler.sampleNow();
    live.add(203);
    sampler.sampleSoon(203);
    assert.equal(store.fresh().processes.has(203), true);
    await sampling;
    assert.deepEqual([...store.latest().processes.keys()].sort(), [201, 202, 203]);
    sampler.stop();
  });

  it('gives a final reading once, as departed with the next snapshot, and shows it until the exit', async () => {
    const live = new Set([201, 204]);
    const { source, readings } = fakeSource(live);
    const store = new SnapshotStore();
    const sampler = new Sampler({ source, reader: createProcReader({ root: proc }), store });
    await sampler.sampleNow();
    const before = store.latest().processes.get(204);
    writeFileSync(join(proc, '204', 'stat'), sleepStat(204, { utime: 150, stime: 50, blkio: 0 }));
    await sleep(20);
    sampler.readFinal(204);
    const final = store.latest().processes.get(204);
    assert.ok(before && final && final.sample.readAtMs > before.sample.readAtMs);
    assert.equal(final.sample.cpuUserSeconds, 1.5, 'the counters reached since the sample');
    assert.deepEqual(readings.at(-1), { pid: 204, readAtMs: final.sample.readAtMs, final: true });
    // it exits: the engine drops it at once, the next snapshot carries its final reading once
    live.delete(204);
    store.drop(204);
    await sampler.sampleNow();
    assert.deepEqual([...store.latest().processes.keys()], [201]);
    assert.deepEqual([...store.latest().departed.keys()], [204]);
    assert.equal(store.latest().departed.get(204), final);
    await sampler.sampleNow();
    assert.equal(store.latest().departed.size, 0, 'departed with one snapshot');
    // the push exporter takes it once, whether it collected after that snapshot or after the next
    assert.deepEqual([...store.takeDeparted().keys()], [204]);
    assert.equal(store.takeDeparted().size, 0, 'taken once');
    // nobody taking: kept for two publishes, then dropped
    sampler.readFinal(201);
    live.delete(201);
    store.drop(201);
    await sampler.sampleNow();
    await sampler.sampleNow();
    assert.deepEqual([...store.takeDeparted().keys()], [201]);
    live.add(201);
    await sampler.sampleNow();
    sampler.readFinal(201);
    live.delete(201);
    store.drop(201);
    for (let i = 0; i < 3; i++) await sampler.sampleNow();
    assert.equal(store.takeDeparted().size, 0, 'dropped after two publishes untaken');
    writeFileSync(join(proc, '204', 'stat'), sleepStat(204, { utime: 0, stime: 0, blkio: 0 }));
  });

  it('keeps the newer of a sample and a final reading while the process is still there', async () => {
    const live = new Set([201]);
    const { source } = fakeSource(live);
    const store = new SnapshotStore();
    const sampler = new Sampler({ source, reader: createProcReader({ root: proc }), store });
    await sampler.sampleNow();
    sampler.readFinal(201);
    const final = store.latest().processes.get(201);
    // not exited yet (the signal takes a moment): the sample reads it again, newer than the final one
    await sleep(5);
    await sampler.sampleNow();
    const read = store.latest().processes.get(201);
    assert.ok(final && read && read.sample.readAtMs > final.sample.readAtMs);
    assert.equal(store.latest().departed.size, 0, 'not departed while it is in the snapshot');
  });

  it('a final reading never throws, also for a process that is gone or unreadable', () => {
    const live = new Set([201, 999]);
    const errors: number[] = [];
    const { source } = fakeSource(live);
    const sampler = new Sampler({
      source,
      reader: createProcReader({ root: proc }),
      store: new SnapshotStore(),
      onReadError: (pid) => errors.push(pid),
    });
    sampler.readFinal(999); // no such directory: gone
    sampler.readFinal(12345); // not a live process of the source
    mkdirSync(join(proc, '998', 'io'), { recursive: true });
    live.add(998);
    symlinkSync('/usr/bin/sleep', join(proc, '998', 'exe'));
    for (const name of ['statm', 'status', 'cmdline'])
      writeFileSync(join(proc, '998', name), fixture(`live-sleep/${name}`));
    writeFileSync(join(proc, '998', 'stat'), sleepStat(998, { utime: 0, stime: 0, blkio: 0 }));
    sampler.readFinal(998); // io is a directory: EISDIR, reported
    assert.deepEqual(errors, [998]);
  });

  it('gives the CPU utilization between two readings as the collector does: per state, per CPU', async () => {
    const live = new Set([203]);
    const { source } = fakeSource(live);
    const store = new SnapshotStore();
    const reader = createProcReader({ root: proc });
    assert.equal(reader.logicalCpus, 2);
    const sampler = new Sampler({ source, reader, store });
    writeFileSync(join(proc, '203', 'stat'), sleepStat(203, { utime: 100, stime: 40, blkio: 10 }));
    await sampler.sampleNow();
    const first = store.latest().processes.get(203)?.sample;
    assert.equal(first?.cpuUtilization, undefined, 'no utilization on the first reading');
    writeFileSync(join(proc, '203', 'stat'), sleepStat(203, { utime: 150, stime: 60, blkio: 12 }));
    await sleep(50);
    await sampler.sampleNow();
    const second = store.latest().processes.get(203)?.sample;
    assert.ok(first && second?.cpuUtilization);
    const seconds = (second.readAtMs - first.readAtMs) / 1000;
    const ticks = reader.clockTicks;
    // the same arithmetic on the same seconds (ticks / CLK_TCK), so equal to the last bit
    const delta = (now: number, then: number) => now / ticks - then / ticks;
    assert.deepEqual(second.cpuUtilization, {
      user: delta(150, 100) / seconds / 2,
      system: delta(60, 40) / seconds / 2,
      wait: delta(12, 10) / seconds / 2,
    });
    const used = 150 / ticks + 60 / ticks - 100 / ticks - 40 / ticks;
    assert.equal(
      store.latest().processes.get(203)?.cpuPercent,
      (used / seconds) * 100,
      'the API share of one core',
    );
    writeFileSync(join(proc, '203', 'stat'), sleepStat(203, { utime: 0, stime: 0, blkio: 0 }));
  });
});
