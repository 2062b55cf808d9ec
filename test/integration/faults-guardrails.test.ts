/**
 * A run the machine or the cap cannot hold is refused before any spawn, naming the limit and its value.
 * Every count is derived from the limits this machine reports, never from a typical host's: a host with
 * pid_max 4194304 gets a run sized against 4194304.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requireRoot, requireTools, requireToolsForOthers } from '../helpers/require.ts';
import { MAIN } from '../helpers/sigkill-trial.ts';

const dir = mkdtempSync(join(tmpdir(), 'psim-guardrails-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The most threads one template process may have (the profile schema's cap). */
const MAX_THREADS = 4096;
/** A refused run exits by itself in a second or two; past this it is killed, which is a failure. */
const GUARD_MS = 30_000;
const NOBODY = 65534;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs `node src/main.ts` (after `prefix`, e.g. prlimit) and returns how it ended. SIGKILLed after
 * GUARD_MS; a prefix that cannot be started rejects instead of passing for a refusal.
 */
function runSimulator(env: Record<string, string>, prefix: string[] = []): Promise<Run> {
  const [command, ...args] = [...prefix, process.execPath, MAIN];
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, args, {
      env: {
        ...process.env,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        CONTROL_PORT: '0',
        OTEL_METRICS_EXPORTER: 'none',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
    child.once('error', (error) => {
      clearTimeout(guard);
      reject(new Error(`cannot start ${command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, output });
    });
  });
}

/**
 * A refusal: the simulator ended by itself with `code` (not killed by the guard, whose `code` is null),
 * said why, and never got as far as running a simulation.
 */
function assertRefused(run: Run, code: number, reason: RegExp): void {
  assert.equal(run.signal, null, `ended by ${run.signal}, so it was not refused:\n${run.output}`);
  assert.equal(run.code, code, `exit code:\n${run.output}`);
  assert.match(run.output, reason);
  assert.doesNotMatch(run.output, /simulation running|ProcessStarted/, 'nothing was started');
}

function memAvailableMiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024;
}

/** Tasks (threads included) on the machine now, as the engine counts them. */
function machineTasks(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[1]);
}

function profileFile(name: string, templates: unknown[]): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ name, templates }));
  return path;
}

describe('guardrails: a run the machine or the cap cannot hold is refused before any spawn', () => {
  it('refuses PROCESS_COUNT above MAX_PROCESSES, naming the cap and its value', async () => {
    const run = await runSimulator({ PROFILE: 'high-cardinality', PROCESS_COUNT: '50', MAX_PROCESSES: '20' });
    assertRefused(run, 1, /MAX_PROCESSES\D*20\b/);
  });

  it('refuses more tasks than kernel.pid_max allows, naming pid_max and its value', async () => {
    requireRoot('run the simulator as nobody under a task limit of its own');
    const [setpriv, prlimit] = requireToolsForOthers('setpriv', 'prlimit');
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    // More threads than pid_max itself, whatever the host's pid_max: the fewest processes that get there.
    const count = Math.floor(pidMax / MAX_THREADS) + 1;
    // Should the check ever be missing, the kernel still stops a runaway at 256 tasks: as nobody,
    // RLIMIT_NPROC binds (root ignores it). The engine checks pid_max before ulimit -u, so the refusal
    // names pid_max either way. Nobody gets a directory of its own for its runtime files and the profile.
    const runtime = mkdtempSync(join(tmpdir(), 'psim-guardrails-nobody-'));
    after(() => rmSync(runtime, { recursive: true, force: true }));
    const profile = join(runtime, 'past-pid-max.json');
    writeFileSync(
      profile,
      JSON.stringify({
        name: 'past-pid-max',
        templates: [{ name: 'wide-{i}', count, priority: 'low', threads: MAX_THREADS }],
      }),
    );
    chownSync(runtime, NOBODY, NOBODY);
    chownSync(profile, NOBODY, NOBODY);
    const asNobody = [
      setpriv,
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      prlimit,
      '--nproc=256:256',
      '--',
    ];
    const run = await runSimulator(
      { PROFILE_FILE: profile, MAX_PROCESSES: String(count), TMPDIR: runtime },
      asNobody,
    );
    assertRefused(run, 1, new RegExp(`pid_max\\D*${pidMax}\\b`));
    assert.match(run.output, new RegExp(`needs ${count * MAX_THREADS} tasks \\(threads\\)`));
  });

  it('refuses more tasks than ulimit -u allows, naming the limit and its value', async () => {
    const [prlimit] = requireTools('prlimit');
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    // A limit above what runs now, and a run that goes past 90 % of it but stays below 90 % of pid_max,
    // so that ulimit -u and nothing else refuses it.
    const tasks = machineTasks();
    const limit = tasks + 1000;
    const count = limit;
    assert.ok(
      tasks + count <= 0.9 * pidMax,
      `this machine runs ${tasks} tasks: ${count} more would trip pid_max=${pidMax} before ulimit -u`,
    );
    const run = await runSimulator(
      { PROFILE: 'high-cardinality', PROCESS_COUNT: String(count), MAX_PROCESSES: String(count) },
      [prlimit, `--nproc=${limit}:${limit}`, '--'],
    );
    assertRefused(run, 1, new RegExp(`ulimit -u\\D*${limit}\\b`));
  });

  it('refuses a profile whose memory exceeds MemAvailable, naming it and its value', async () => {
    const perProcessMiB = Math.ceil(memAvailableMiB() / 4);
    const profile = profileFile('too-big', [
      { name: 'hog-{i}', count: 8, priority: 'low', memory: perProcessMiB },
    ]);
    const run = await runSimulator({ PROFILE_FILE: profile });
    assertRefused(run, 1, /MemAvailable=\d+ MiB/);
  });
});
