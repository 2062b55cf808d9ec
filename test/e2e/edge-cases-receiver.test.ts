/**
 * The processes that break observers (PROFILE=edge-cases) against the real collector's hostmetrics
 * process scraper, as the README's table "Processes that break observers" says it behaves: what it
 * emits for each, the attribute values, the errors it logs and which mute_process_* option silences
 * them. Two collectors watch the same simulation at once: one as root, one as nobody (setpriv), the
 * way a receiver runs without privileges; each runs one receiver per mute setting, each writing to its
 * own file, and logs JSON to a file. The simulator's ground truth (GET /processes, `expected`) is what a
 * correct observer reports; each case is held against it.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BUILTIN_PROFILES } from '../../src/profiles/builtin.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { type FlatPoint, readFilePoints } from '../helpers/otlp-json.ts';
import { procStatus } from '../helpers/proc.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 2000;
const NOBODY = { uid: 65534, gid: 65534 };
/** The edge-cases names, as the receiver matches them (its executable.name). */
const INCLUDE = [
  '^zombie-parent$',
  '^stopped-proc$',
  '^deleted-bin$',
  '^other-user$',
  '^my \\(odd\\) name$',
  '^kworker/0:1-ev$',
  '^bad..name$',
  '^long-cmdline$',
  '^many-threads$',
  '^many-fds$',
  '^blink-',
];
/** Every metric the scraper has on Linux, so that each one's fate is seen. */
const METRICS = [
  'process.context_switches',
  'process.cpu.utilization',
  'process.disk.operations',
  'process.memory.utilization',
  'process.open_file_descriptors',
  'process.paging.faults',
  'process.signals_pending',
  'process.threads',
  'process.uptime',
];
type Mutes = Record<string, boolean>;
const RECEIVERS: Record<string, Mutes> = {
  plain: {},
  exe: { mute_process_exe_error: true },
  name: { mute_process_name_error: true },
  io: { mute_process_io_error: true },
  all: { mute_process_all_errors: true },
};

interface Expected {
  executable_name: string;
  executable_name_hex: string;
  executable_path: string;
  command: string;
  command_line_bytes: number;
  owner: string;
  stopped: boolean;
  threads: number;
  fds: number;
  zombie_children: number;
  signals_pending: number;
}

const dir = mkdtempSync(join(tmpdir(), 'psim-edge-receiver-'));
chmodSync(dir, 0o755);
let simulator: TestSimulator;
const collectors: RunningCollector[] = [];
/** name -> pid and ground truth of the steady cases */
const cases = new Map<string, { pid: number; expected: Expected }>();
let zombie = 0;
const blinks = new Set<number>();

/** One collector, one receiver per mute setting, each to a JSON file (and plain also to a proto file). */
function collectorConfig(side: string): string {
  const out = join(dir, side);
  const lines = ['receivers:'];
  for (const [id, mutes] of Object.entries(RECEIVERS)) {
    lines.push(
      `  host_metrics/${id}:`,
      `    collection_interval: ${INTERVAL_MS}ms`,
      '    scrapers:',
      '      process:',
      '        include:',
      '          match_type: regexp',
      `          names: ${JSON.stringify(INCLUDE)}`,
      ...Object.entries(mutes).map(([key, value]) => `        ${key}: ${value}`),
      '        metrics:',
      ...METRICS.map((metric) => `          ${metric}: {enabled: true}`),
      '        resource_attributes:',
      '          process.cgroup: {enabled: true}',
    );
  }
  lines.push('exporters:');
  for (const id of Object.keys(RECEIVERS)) {
    lines.push(
      `  file/${id}:`,
      `    path: ${JSON.stringify(join(out, `${id}.json`))}`,
      '    flush_interval: 200ms',
    );
  }
  lines.push(
    '  file/proto:',
    `    path: ${JSON.stringify(join(out, 'plain.proto'))}`,
    '    format: proto',
    '    flush_interval: 200ms',
    'service:',
    '  telemetry:',
    '    logs:',
    '      encoding: json',
    // by default the collector keeps 10 lines of one message per 10 s, then one in 100: every line here
    '      sampling: {enabled: false}',
    `      output_paths: [stderr, ${JSON.stringify(join(out, 'collector.log'))}]`,
    '    metrics:',
    '      readers:',
    '        - pull:',
    '            exporter:',
    '              prometheus:',
    '                host: 127.0.0.1',
    // the collector's own reference to its environment, not a JavaScript placeholder
    `                port: \${env:COLLECTOR_TELEMETRY_PORT}`,
    '  pipelines:',
  );
  for (const id of Object.keys(RECEIVERS)) {
    const exporters = id === 'plain' ? `[file/${id}, file/proto]` : `[file/${id}]`;
    lines.push(
      `    metrics/${id}:`,
      `      receivers: [host_metrics/${id}]`,
      `      exporters: ${exporters}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function startSide(side: 'root' | 'nobody'): Promise<void> {
  const out = join(dir, side);
  mkdirSync(out);
  if (side === 'nobody') chownSync(out, NOBODY.uid, NOBODY.gid);
  const file = join(dir, `${side}.yaml`);
  writeFileSync(file, collectorConfig(side), { mode: 0o644 });
  collectors.push(await startCollector({ base: file, runAs: side === 'nobody' ? NOBODY : undefined }));
}

/** Points a receiver wrote, and the errors it logged (one entry per problem, its component's lines only). */
function recorded(
  side: string,
  receiver: string,
): { points: FlatPoint[]; errors: string[]; errorLines: number } {
  const points = readFilePoints(join(dir, side, `${receiver}.json`));
  const errors: string[] = [];
  let errorLines = 0;
  const log = join(dir, side, 'collector.log');
  for (const line of existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, string>;
    if (
      entry.msg !== 'Error scraping metrics' ||
      entry['otelcol.component.id'] !== `host_metrics/${receiver}`
    )
      continue;
    errorLines++;
    errors.push(...(entry.error ?? '').split('; '));
  }
  return { points, errors, errorLines };
}

const aboutPid = (errors: string[], pid: number) =>
  errors.filter((error) => new RegExp(`(\\(pid ${pid}\\)|pid ${pid}:)`).test(error));

/** The latest point of a metric of a pid (with its Resource). */
function latest(points: FlatPoint[], pid: number, metric: string, attributes: Record<string, string> = {}) {
  return points
    .filter(
      (p) =>
        p.resource['process.pid'] === pid &&
        p.metric === metric &&
        Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
    )
    .sort((a, b) => a.timeMs - b.timeMs)
    .at(-1);
}

const metricsOf = (points: FlatPoint[], pid: number) =>
  [...new Set(points.filter((p) => p.resource['process.pid'] === pid).map((p) => p.metric))].sort();

before(async () => {
  simulator = await startTestSimulator({
    AUTO_START: 'false',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_METRIC_EXPORT_INTERVAL: '2000',
  });
  const { sim } = simulator;
  sim.engine.events.subscribe((event) => {
    if (event.type === 'ProcessStarted' && event.name.startsWith('blink-')) blinks.add(event.pid);
  });
  // the profile as written (runProfile validates it; a validated one would read its 50 ms as 50 s)
  const simulation = await runProfile(sim, BUILTIN_PROFILES['edge-cases'] as ProfileInput, 1);
  const api = `${sim.api.url}/api/v1/simulations/${simulation.id}/processes`;
  // every case set up: its threads and fds held, stopped, name set, exe unlinked, the zombie child there
  await waitFor('every edge case set up', { timeoutMs: 30_000, everyMs: 250 }, async () => {
    const body = (await (await fetch(api)).json()) as {
      processes: Array<{ pid: number; name: string; expected: Expected }>;
    };
    cases.clear();
    for (const p of body.processes)
      if (!p.name.startsWith('blink-')) cases.set(p.name, { pid: p.pid, expected: p.expected });
    if (cases.size !== 10) return false;
    return [...cases.values()].every(({ pid, expected }) => {
      const status = procStatus(pid);
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      const comm = readFileSync(`/proc/${pid}/comm`).subarray(0, -1).toString('hex');
      return (
        status &&
        Number(status.Threads) === expected.threads &&
        fds === expected.fds &&
        comm === expected.executable_name_hex &&
        (!expected.stopped || status.State?.startsWith('T'))
      );
    });
  });
  const parent = cases.get('zombie-parent')?.pid as number;
  zombie = await waitFor('the zombie child', { timeoutMs: 5000 }, () => {
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) === parent && fields[0] === 'Z') return Number(entry);
      } catch {
        // gone meanwhile
      }
    }
    return 0;
  });
  await Promise.all([startSide('root'), startSide('nobody')]);
  // four scrapes of every receiver on both sides that hold every steady case and the zombie
  const pids = [...[...cases.values()].map((c) => c.pid), zombie];
  await waitFor('four scrapes of every case by every receiver', { timeoutMs: 60_000, everyMs: 1000 }, () =>
    ['root', 'nobody'].every((side) =>
      Object.keys(RECEIVERS).every((receiver) => {
        const { points } = recorded(side, receiver);
        return pids.every(
          (pid) =>
            new Set(points.filter((p) => p.resource['process.pid'] === pid).map((p) => p.timeMs)).size >= 4,
        );
      }),
    ),
  );
});

after(async () => {
  await Promise.all(collectors.map((collector) => collector.stop()));
  await simulator?.sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pidOf = (name: string) => cases.get(name)?.pid as number;
const expectedOf = (name: string) => cases.get(name)?.expected as Expected;

describe('the hostmetrics receiver as root', () => {
  test('the steady cases: reported with no error at all', () => {
    const { points, errors } = recorded('root', 'plain');
    for (const [name, { pid, expected }] of cases) {
      assert.deepEqual(aboutPid(errors, pid), [], `${name}: no error`);
      const point = latest(points, pid, 'process.threads');
      assert.equal(point?.value, expected.threads, `${name}: threads`);
      assert.equal(latest(points, pid, 'process.open_file_descriptors')?.value, expected.fds, `${name}: fds`);
      assert.equal(point?.resource['process.owner'], expected.owner, `${name}: owner`);
      assert.equal(point?.resource['process.command'], expected.command, `${name}: command`);
      assert.equal(
        point?.resource['process.executable.path'],
        expected.executable_path,
        `${name}: executable path`,
      );
      assert.equal(
        point?.resource['process.cgroup'],
        readFileSync(`/proc/${pid}/cgroup`, 'utf8').replace(/\n$/, ''),
      );
    }
  });

  test('zombie-parent: its zombie child is reported with memory 0, no exe and no command line, and an exe error at every scrape, silenced by mute_process_exe_error', () => {
    const { points, errors, errorLines } = recorded('root', 'plain');
    assert.equal(expectedOf('zombie-parent').zombie_children, 1);
    const point = latest(points, zombie, 'process.memory.usage');
    assert.equal(point?.value, 0);
    assert.equal(point?.resource['process.executable.path'], '');
    assert.equal(point?.resource['process.command_line'], '');
    assert.equal(point?.resource['process.command'], '');
    assert.equal(point?.resource['process.executable.name'], 'zombie-parent', 'the comm it inherited');
    const zombieErrors = aboutPid(errors, zombie);
    assert.ok(
      zombieErrors.length >= 4 && zombieErrors.length <= errorLines,
      `${zombieErrors.length} of ${errorLines} scrapes`,
    );
    for (const error of zombieErrors) {
      assert.equal(
        error,
        `error reading process executable for pid ${zombie}: readlink /proc/${zombie}/exe: no such file or directory`,
      );
    }
    assert.deepEqual(aboutPid(recorded('root', 'exe').errors, zombie), [], 'mute_process_exe_error');
    assert.ok(
      latest(recorded('root', 'exe').points, zombie, 'process.memory.usage'),
      'still reported when muted',
    );
  });

  test('stopped-proc: reported like any other process', () => {
    const { points } = recorded('root', 'plain');
    const pid = pidOf('stopped-proc');
    assert.equal(expectedOf('stopped-proc').stopped, true);
    assert.ok(
      (latest(points, pid, 'process.memory.usage')?.value ?? 0) >= 1.5 * 2 ** 20,
      'its memory target held',
    );
    assert.equal(latest(points, pid, 'process.cpu.utilization', { state: 'user' })?.value, 0);
  });

  test('deleted-bin: the exe path keeps the kernel’s " (deleted)" suffix', () => {
    const point = latest(recorded('root', 'plain').points, pidOf('deleted-bin'), 'process.threads');
    assert.match(String(point?.resource['process.executable.path']), / \(deleted\)$/);
    assert.equal(point?.resource['process.executable.path'], expectedOf('deleted-bin').executable_path);
  });

  test('spaced-name, kernel-like: the name as the kernel holds it; stat parsed past the parentheses', () => {
    const { points } = recorded('root', 'plain');
    for (const name of ['spaced-name', 'kernel-like']) {
      const pid = pidOf(name);
      const point = latest(points, pid, 'process.threads');
      assert.equal(point?.resource['process.executable.name'], expectedOf(name).executable_name);
      assert.ok(
        latest(points, pid, 'process.cpu.time', { state: 'user' }),
        `${name}: CPU time read from stat`,
      );
      assert.ok(
        latest(points, pid, 'process.paging.faults', { type: 'minor' })?.value,
        `${name}: faults read from stat`,
      );
    }
    assert.equal(expectedOf('spaced-name').executable_name, 'my (odd) name');
    assert.equal(expectedOf('kernel-like').executable_name, 'kworker/0:1-ev');
  });

  test('bytes-name: the raw bytes on the wire (protobuf), U+FFFD in OTLP/JSON', () => {
    const expected = expectedOf('bytes-name');
    assert.equal(expected.executable_name_hex, '626164fffe6e616d65');
    const point = latest(recorded('root', 'plain').points, pidOf('bytes-name'), 'process.threads');
    assert.equal(point?.resource['process.executable.name'], 'bad\uFFFD\uFFFDname');
    const proto = readFileSync(join(dir, 'root', 'plain.proto'));
    assert.ok(
      proto.includes(Buffer.from(expected.executable_name_hex, 'hex')),
      'the name’s bytes as the kernel holds them',
    );
  });

  test('long-cmdline: the whole 100 KB command line', () => {
    const point = latest(recorded('root', 'plain').points, pidOf('long-cmdline'), 'process.threads');
    const expected = expectedOf('long-cmdline');
    assert.equal(expected.command_line_bytes, 102_400);
    // argv joined by spaces: the NULs but the last become spaces
    assert.equal(String(point?.resource['process.command_line']).length, expected.command_line_bytes - 1);
  });

  test('many-threads: 1,000 threads, context switches summed over all of them', () => {
    const { points } = recorded('root', 'plain');
    const pid = pidOf('many-threads');
    assert.equal(latest(points, pid, 'process.threads')?.value, 1000);
    const leader = Number(
      /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1],
    );
    const summed = latest(points, pid, 'process.context_switches', { type: 'voluntary' })?.value ?? 0;
    assert.ok(summed >= leader + 999, `summed ${summed}, leader alone ${leader}`);
  });

  test('many-fds: 10,000 fds', () => {
    assert.equal(
      latest(recorded('root', 'plain').points, pidOf('many-fds'), 'process.open_file_descriptors')?.value,
      10_000,
    );
  });

  test('other-user: read whole by a root receiver, owner nobody', () => {
    const { points, errors } = recorded('root', 'plain');
    const pid = pidOf('other-user');
    assert.equal(expectedOf('other-user').owner, 'nobody');
    assert.deepEqual(aboutPid(errors, pid), []);
    assert.deepEqual(
      metricsOf(points, pid),
      [
        ...METRICS,
        'process.cpu.time',
        'process.disk.io',
        'process.memory.usage',
        'process.memory.virtual',
      ].sort(),
    );
  });

  test('blink: 50 ms lives mostly unseen; those caught vanishing log only "no such file" errors, exe and name ones silenced by their mutes', (t) => {
    const { points, errors } = recorded('root', 'plain');
    const seen = new Set(
      points.map((p) => p.resource['process.pid'] as number).filter((pid) => blinks.has(pid)),
    );
    const blinkErrors = [...blinks].flatMap((pid) => aboutPid(errors, pid));
    const kinds: Record<string, number> = {};
    for (const error of blinkErrors) {
      const kind = /^(error reading [a-z ]+?)(?: for| \()/.exec(error)?.[1] ?? error;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    t.diagnostic(
      `${blinks.size} blinks started, ${seen.size} reported, ${blinkErrors.length} errors about them: ${JSON.stringify(kinds)}`,
    );
    assert.ok(blinks.size >= 50, `${blinks.size} blinks`);
    assert.ok(seen.size < blinks.size / 2, 'most are never seen');
    for (const error of blinkErrors) assert.match(error, /no such file or directory$/);
    // the mutes silence their kind for every process, the blinks and the host's kernel threads alike
    assert.ok(recorded('root', 'exe').errors.every((e) => !e.startsWith('error reading process executable')));
    assert.ok(recorded('root', 'name').errors.every((e) => !e.startsWith('error reading process name')));
  });

  test('mute_process_all_errors: not one error line', () => {
    assert.equal(recorded('root', 'all').errorLines, 0);
    assert.ok(recorded('root', 'plain').errorLines > 0);
  });
});

describe('the hostmetrics receiver as nobody (setpriv), unprivileged', () => {
  const FD = (pid: number) =>
    new RegExp(
      `^error reading open file descriptor count for process ".*" \\(pid ${pid}\\): open /proc/${pid}/fd: permission denied$`,
    );
  const SIGNALS = (pid: number) =>
    new RegExp(
      `^error reading pending signals for process ".*" \\(pid ${pid}\\): open /proc/${pid}/fd: permission denied$`,
    );
  const IO = (pid: number) =>
    new RegExp(
      `^error reading disk usage for process ".*" \\(pid ${pid}\\): open /proc/${pid}/io: permission denied$`,
    );
  const EXE = (pid: number) =>
    `error reading process executable for pid ${pid}: readlink /proc/${pid}/exe: permission denied`;

  test('another user’s process (other-user included: it changed user, so it is not dumpable): no fds, io, disk operations, pending signals or exe path, one permission error each', () => {
    const { points, errors } = recorded('nobody', 'plain');
    for (const [name, { pid, expected }] of cases) {
      const mine = aboutPid(errors, pid);
      for (const [what, pattern] of [
        ['fd', FD(pid)],
        ['signals', SIGNALS(pid)],
        ['io', IO(pid)],
      ] as const) {
        assert.ok(
          mine.some((e) => pattern.test(e)),
          `${name}: the ${what} error`,
        );
      }
      assert.ok(mine.includes(EXE(pid)), `${name}: the exe error`);
      assert.ok(
        mine.every((e) => /permission denied$/.test(e)),
        `${name}: ${mine.filter((e) => !/permission denied$/.test(e))}`,
      );
      const metrics = metricsOf(points, pid);
      for (const lost of [
        'process.open_file_descriptors',
        'process.disk.io',
        'process.disk.operations',
        'process.signals_pending',
      ]) {
        assert.ok(!metrics.includes(lost), `${name}: no ${lost}`);
      }
      for (const kept of [
        'process.cpu.time',
        'process.memory.usage',
        'process.threads',
        'process.context_switches',
      ]) {
        assert.ok(metrics.includes(kept), `${name}: ${kept} still there`);
      }
      const point = latest(points, pid, 'process.threads');
      assert.equal(point?.resource['process.executable.path'], '', `${name}: no exe path`);
      assert.equal(point?.resource['process.executable.name'], expected.executable_name, `${name}: the name`);
      assert.equal(point?.resource['process.owner'], expected.owner, `${name}: the owner`);
      assert.equal(
        String(point?.resource['process.command_line']).length,
        expected.command_line_bytes - 1,
        `${name}: the command line`,
      );
    }
  });

  test('mute_process_exe_error and mute_process_io_error silence theirs; the fd and signals errors stay until mute_process_all_errors', () => {
    const exe = recorded('nobody', 'exe').errors;
    const io = recorded('nobody', 'io').errors;
    for (const [name, { pid }] of cases) {
      assert.ok(!aboutPid(exe, pid).includes(EXE(pid)), `${name}: exe muted`);
      assert.ok(
        aboutPid(exe, pid).some((e) => IO(pid).test(e)),
        `${name}: io not muted by the exe mute`,
      );
      assert.ok(!aboutPid(io, pid).some((e) => IO(pid).test(e)), `${name}: io muted`);
      assert.ok(aboutPid(io, pid).includes(EXE(pid)), `${name}: exe not muted by the io mute`);
      for (const errors of [exe, io]) {
        assert.ok(
          aboutPid(errors, pid).some((e) => FD(pid).test(e)),
          `${name}: fd error under either mute`,
        );
        assert.ok(
          aboutPid(errors, pid).some((e) => SIGNALS(pid).test(e)),
          `${name}: signals error under either mute`,
        );
      }
    }
    assert.equal(recorded('nobody', 'all').errorLines, 0);
  });
});
