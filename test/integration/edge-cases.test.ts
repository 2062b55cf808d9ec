/**
 * The edge-cases profile holds each case for real, as /proc shows it to any observer: one zombie child,
 * a stopped process, a deleted executable, a process of another user, names with spaces, parentheses,
 * a slash and bytes that are not UTF-8, a 100 KB command line, 1,000 threads, 10,000 fds, 50 ms lives;
 * and a stop ends every one of them (the zombie reaped, the stopped one too) without SIGKILL.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/engine/engine.ts';
import type { TimedEvent } from '../../src/engine/events.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { builtinProfile } from '../../src/profiles/load.ts';
import { procStatus } from '../helpers/proc.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

let engine: Engine;
let simulation: Simulation;
const events: TimedEvent[] = [];
before(async () => {
  engine = new Engine({ maxProcesses: 100 });
  engine.events.subscribe((event) => events.push(event));
  simulation = engine.createSimulation({
    name: 'edge',
    profile: builtinProfile('edge-cases'),
    seed: 1,
    durationMs: undefined,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
});
after(async () => {
  await engine.shutdown();
});

function pidOf(name: string): number {
  const found = engine.processesOf(simulation.id).find((p) => p.name === name);
  assert.ok(found, `${name} runs`);
  return found.pid;
}

function stat(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Children of `ppid` in any state (zombies too). */
function allChildrenOf(ppid: number): Array<{ pid: number; state: string }> {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const fields = stat(Number(entry));
        return Number(fields[1]) === ppid ? [{ pid: Number(entry), state: fields[0] as string }] : [];
      } catch {
        return [];
      }
    });
}

test('a zombie child, one, left unreaped', async () => {
  const parent = pidOf('zombie-parent');
  const children = await waitFor('the zombie child', { timeoutMs: 5000 }, () => {
    const list = allChildrenOf(parent);
    return list.length > 0 && list;
  });
  assert.deepEqual(
    children.map((c) => c.state),
    ['Z'],
  );
  await sleep(300);
  assert.equal(allChildrenOf(parent).length, 1, 'it never forks again');
});

test('a stopped process (state T) still holds its memory target', async () => {
  const pid = pidOf('stopped-proc');
  await waitFor('state T', { timeoutMs: 5000 }, () => stat(pid)[0] === 'T');
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  assert.ok(rssPages * 4096 >= 1.5 * 2 ** 20, `RSS ${rssPages} pages`);
});

test('a deleted executable', async () => {
  const pid = pidOf('deleted-bin');
  const exe = await waitFor('the exe link to say deleted', { timeoutMs: 5000 }, () => {
    const target = readlinkSync(`/proc/${pid}/exe`);
    return target.endsWith(' (deleted)') && target;
  });
  assert.match(exe, /\/bin\/deleted-bin \(deleted\)$/);
});

test('a process of another user', async () => {
  const pid = pidOf('other-user');
  const status = await waitFor('uid nobody', { timeoutMs: 5000 }, () => {
    const s = procStatus(pid);
    return s?.Uid?.split(/\s+/)[0] === '65534' && s;
  });
  assert.equal(status.Gid?.split(/\s+/)[0], '65534');
  assert.equal(readdirSync(`/proc/${pid}/fd`).length, 8, 'its fd target, held as that user');
});

test('names with spaces, parentheses, a slash and bytes that are not UTF-8', async () => {
  const comm = (name: string) => readFileSync(`/proc/${pidOf(name)}/comm`);
  await waitFor(
    'the names set',
    { timeoutMs: 5000 },
    () => comm('spaced-name').toString() === 'my (odd) name\n',
  );
  assert.equal(comm('kernel-like').toString(), 'kworker/0:1-ev\n');
  assert.equal(comm('bytes-name').toString('hex'), '626164fffe6e616d650a');
  // stat's comm field is the same bytes between the outer parentheses.
  const text = readFileSync(`/proc/${pidOf('spaced-name')}/stat`, 'latin1');
  assert.equal(text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), 'my (odd) name');
});

test('a 100 KB command line, 1,000 threads, 10,000 fds', async () => {
  assert.equal(readFileSync(`/proc/${pidOf('long-cmdline')}/cmdline`).length, 102_400);
  await waitFor(
    '1,000 threads',
    { timeoutMs: 10_000 },
    () => procStatus(pidOf('many-threads'))?.Threads === '1000',
  );
  await waitFor(
    '10,000 fds',
    { timeoutMs: 10_000 },
    () => readdirSync(`/proc/${pidOf('many-fds')}/fd`).length === 10_000,
  );
});

test('processes living about 50 ms', async () => {
  await sleep(1000);
  const started = new Map<number, number>();
  const lives: number[] = [];
  for (const event of events) {
    if (event.type === 'ProcessStarted' && event.name.startsWith('blink-'))
      started.set(event.pid, Date.parse(event.time));
    if (event.type === 'ProcessExited' && event.reason === 'lifetime' && started.has(event.pid)) {
      lives.push(Date.parse(event.time) - (started.get(event.pid) as number));
    }
  }
  assert.ok(lives.length >= 10, `${lives.length} lives`);
  lives.sort((a, b) => a - b);
  const median = lives[Math.floor(lives.length / 2)] as number;
  assert.ok(median < 100, `median life ${median} ms (${lives.join(',')})`);
});

test('the ground truth says what /proc shows for every case', async () => {
  const problems: string[] = [];
  for (const info of engine.processesOf(simulation.id)) {
    if (info.name.startsWith('blink-')) continue;
    const { pid, name } = info;
    const expected = engine.groundTruthOf(pid)?.expected;
    assert.ok(expected, `${name}: ground truth`);
    // Held once the worker is set up (name, user, threads, fds, stop, unlink, signals).
    const seen = await waitFor(`${name} as expected`, { timeoutMs: 10_000, everyMs: 100 }, () => {
      const status = procStatus(pid);
      if (!status) return false;
      const now = {
        comm: readFileSync(`/proc/${pid}/comm`).subarray(0, -1).toString('hex'),
        exe: readlinkSync(`/proc/${pid}/exe`),
        cmdline: readFileSync(`/proc/${pid}/cmdline`).length,
        uid: Number(status.Uid?.split(/\s+/)[0]),
        stopped: status.State?.startsWith('T') ?? false,
        threads: Number(status.Threads),
        fds: readdirSync(`/proc/${pid}/fd`).length,
        zombies: allChildrenOf(pid).filter((c) => c.state === 'Z').length,
        shdPnd: Number.parseInt(status.ShdPnd ?? '', 16),
      };
      const want = {
        comm: expected.executableNameHex,
        exe: expected.executablePath,
        cmdline: expected.commandLineBytes,
        uid: expected.uid,
        stopped: expected.stopped,
        threads: expected.threads,
        fds: expected.fds,
        zombies: expected.zombieChildren,
        shdPnd: expected.signalsPending,
      };
      return JSON.stringify(now) === JSON.stringify(want) ? now : false;
    }).catch((error: Error) => {
      problems.push(`${name}: ${error.message}`);
      return undefined;
    });
    if (seen && expected.executableNameUtf8) {
      assert.equal(Buffer.from(expected.executableName).toString('hex'), expected.executableNameHex);
    }
  }
  assert.deepEqual(problems, []);
  const bytes = engine.groundTruthOf(pidOf('bytes-name'))?.expected;
  assert.equal(bytes?.executableNameUtf8, false);
  assert.equal(bytes?.executableName, 'bad\uFFFD\uFFFDname');
  assert.equal(engine.groundTruthOf(pidOf('other-user'))?.expected.owner, 'nobody');
  assert.equal(engine.groundTruthOf(pidOf('stopped-proc'))?.expected.owner, 'root');
});

test('a stop ends them all with SIGTERM (the stopped one too) and reaps the zombie', async () => {
  const parent = pidOf('zombie-parent');
  const since = events.at(-1)?.seq ?? 0;
  await engine.stopSimulation(simulation.id);
  const exits = events.filter((e) => e.seq > since && e.type === 'ProcessExited');
  for (const exit of exits) {
    assert.ok(exit.type === 'ProcessExited');
    assert.notEqual(exit.signal, 'SIGKILL', `${exit.name} needed SIGKILL`);
  }
  assert.deepEqual(allChildrenOf(parent), []);
  assert.equal(engine.processesOf(simulation.id).length, 0);
});
