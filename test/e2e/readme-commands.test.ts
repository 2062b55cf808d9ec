/**
 * The README's commands, run as a reader would paste them: the command-line examples and the control
 * API's curl examples against a real simulator (its port substituted for 8090).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';
import { workersOf } from '../helpers/proc.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const ROOT = new URL('../..', import.meta.url).pathname;

/** The commands of the first ```sh block after `heading`, continuation lines joined, comments dropped. */
function commandsAfter(heading: string): string[] {
  const section = README.slice(README.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, `a sh block after ${heading}`);
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

async function sh(command: string) {
  const { stdout } = await exec('bash', ['-c', command], { cwd: ROOT, timeout: 60_000 });
  return stdout;
}

let simulator: RunningSimulator;
before(async () => {
  simulator = await startSimulator(
    loadConfig({ AUTO_START: 'false', METRICS_PORT: '0', CONTROL_PORT: '0', OTEL_METRICS_EXPORTER: 'none' }),
    createLogger('error', () => {}),
  );
});
after(async () => {
  await simulator?.stop();
});

test('the command-line examples run (all but the long `run`)', async () => {
  const commands = commandsAfter('## Command line').filter((command) => !/ run /.test(command));
  assert.equal(commands.length, 3);
  const [help, profiles, plan] = await Promise.all(commands.map(sh));
  assert.match(help as string, /Commands:/);
  assert.match(profiles as string, /^realistic\s+27/m);
  assert.match(plan as string, /^profile realistic: 40 processes, seed 42/);
});

test('the control API examples do what the README says', async () => {
  const address = new URL(simulator.api.url).host;
  let id = '';
  const outputs: string[] = [];
  const commands = commandsAfter('## Control API');
  assert.equal(commands.length, 8, `the eight examples checked below:\n${commands.join('\n')}`);
  assert.equal(commands.filter((command) => command.startsWith('curl -N ')).length, 1, 'one event stream');
  for (const command of commands) {
    // The event stream never ends by itself: it is read for two seconds, and only its curl may end with
    // the timeout's exit status (28). Every other command must succeed as a reader would see it.
    const streaming = command.startsWith('curl -N ');
    const runnable = command
      .replaceAll('localhost:8090', address)
      .replaceAll('/ID/', `/${id}/`)
      .replace('curl -N ', 'curl -N --max-time 2 ');
    const output = await sh(streaming ? `${runnable} || [ $? -eq 28 ]` : runnable);
    outputs.push(output);
    // the simulation the create example made is the ID of the examples after it
    if (!id && command.includes('POST localhost:8090/api/v1/simulations ')) id = JSON.parse(output).id;
  }
  const [health, created, started, processes, exits, results, spike, events] = outputs as string[];
  assert.equal(JSON.parse(health as string).status, 'ok');
  assert.equal(JSON.parse(created as string).profile, 'process-churn');
  assert.match(JSON.parse(started as string).state, /starting|running/);
  const [first] = JSON.parse(processes as string).processes;
  assert.ok(first, 'a live process');
  assert.equal(first.expected.executable_name, first.name, 'with what a correct observer reports');
  assert.equal(typeof first.sampling.samples, 'number', 'and what the sampler read');
  const exitList = JSON.parse(exits as string);
  assert.ok(Array.isArray(exitList.exits) && exitList.total >= exitList.exits.length);
  assert.equal(JSON.parse(results as string).processes.planned, 100);
  assert.equal(JSON.parse(spike as string).kind, 'cpu-spike');
  assert.match(events as string, /event: SimulationStarted/);
  await simulator.engine.stopSimulation(id);
});

test("the quickstart's ps example lists the processes `npm start` simulates, not the shell's", async () => {
  const psLine = commandsAfter('While it runs:').find((command) => command.startsWith('ps '));
  assert.ok(psLine, 'a ps example');
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    stdio: 'ignore',
    env: {
      ...process.env,
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: '5',
      OTEL_METRICS_EXPORTER: 'none',
      METRICS_PORT: '0',
      CONTROL_PORT: '0',
    },
  });
  try {
    const engine = await waitFor('the engine, named process-simulator', { timeoutMs: 30_000 }, () =>
      childrenOfGroup(npm.pid as number).find(
        (pid) => readFileSync(`/proc/${pid}/comm`, 'utf8') === 'process-simulat\n',
      ),
    );
    await waitFor('five simulated processes', { timeoutMs: 30_000 }, () => workersOf(engine).length === 5);
    const rows = (await sh(psLine)).trim().split('\n').slice(1);
    assert.equal(rows.length, 5, rows.join('\n'));
    for (const row of rows) assert.match(row, /^\s*\d+ (svc-core|api|worker|cache|batch)-\d+ /);
  } finally {
    process.kill(-(npm.pid as number), 'SIGTERM');
    await new Promise((resolve) => npm.once('exit', resolve));
  }
});

/** Processes of the process group `pgid` (npm, the shell it starts, and the engine). */
function childrenOfGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid;
      } catch {
        return false;
      }
    });
}
