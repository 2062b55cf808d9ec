/**
 * The command line as a user runs it: a real `node src/main.ts` child per case.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { LAUNCH_ENV, LAUNCH_ENV_WORDS, LAUNCH_FLAGS } from '../helpers/launch.ts';
import { isAlive, workersOf } from '../helpers/proc.ts';
import { waitUntil } from '../helpers/wait.ts';

const run = promisify(execFile);
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const BIN = new URL('../../bin/process-simulator.js', import.meta.url).pathname;
const readRepoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const QUIET_ENV = { ...process.env, OTEL_METRICS_EXPORTER: 'none', METRICS_PORT: '0', CONTROL_PORT: '0' };

async function cli(args: string[], env: NodeJS.ProcessEnv = QUIET_ENV) {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('profiles lists the built-in profiles with a description each', async () => {
  const { code, stdout } = await cli(['profiles']);
  assert.equal(code, 0);
  for (const name of ['realistic', 'high-cardinality', 'process-churn (high-churn)', 'chaos', 'edge-cases'])
    assert.match(stdout, new RegExp(`^${name.replace(/[()]/g, '\\$&')}\\s+\\d+\\s+\\S`, 'm'));
  const json = JSON.parse((await cli(['profiles', '--json'])).stdout);
  assert.equal(json.length, 5);
});

test('plan prints what a run would start without starting anything', async () => {
  const { code, stdout } = await cli([
    'plan',
    '--profile',
    'high-cardinality',
    '--processes',
    '600',
    '--seed',
    '1',
    '--json',
  ]);
  assert.equal(code, 0);
  const planned = JSON.parse(stdout) as Array<{ name: string; priority: string }>;
  assert.equal(planned.length, 600);
  assert.equal(new Set(planned.map((p) => p.name)).size, 600);
  const table = await cli(['plan', '-p', 'realistic', '-n', '8', '-s', '3']);
  assert.match(table.stdout, /^NAME\s+PRIORITY\s+CPU %/m);
  assert.match(table.stdout, /^nginx-worker\s+high\s+spiky 1->12 5s\/40s/m);
});

test('--help for every command, and bad usage exits 2 with the reason', async () => {
  for (const command of ['', 'run', 'plan', 'profiles']) {
    const { code, stdout } = await cli(command ? [command, '--help'] : ['--help']);
    assert.equal(code, 0);
    assert.match(stdout, command ? new RegExp(`Usage: process-simulator ${command}`) : /Commands:/);
  }
  const unknown = await cli(['launch']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "launch"/);
  const bad = await cli(['run', '--processes', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--processes: expected an integer from 0 to 100000 \(got "lots"\)/);
  const badEnv = await cli(['run'], { ...QUIET_ENV, SEED: '-1' });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /SEED: expected an integer/);
});

test('run without a terminal: periodic status lines, a summary, exit 0, no process left', async () => {
  const { code, stderr } = await cli(['run', '-n', '3', '-d', '6s', '-s', '4', '--interval', '1000']);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /info {2}status line="running 3\/3 \(/);
  assert.match(
    stderr,
    /info {2}summary state=completed started=3 exited=\{"lifetime":0,"stopped":3,"killed":0,"crashed":0\} peakProcesses=3 peakSeries=27/,
  );
  assert.ok(!stderr.includes('\u001b['), 'no terminal control codes in a log');
});

test('run on a terminal redraws one status line', async () => {
  // `script` gives the child a pseudo-terminal, as a person's shell would
  const command = `${process.execPath} ${MAIN} run -n 2 -d 3s -s 5`;
  const { stdout } = await run('script', ['-qfec', command, '/dev/null'], {
    env: QUIET_ENV,
    timeout: 60_000,
  });
  assert.match(
    stdout,
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's clear-line sequence is the point
    /\r\x1b\[2Krunning 2\/2 \(.*\) \| starts 2\/min exits 0\/min \| otlp off \| metrics http/,
  );
  assert.match(stdout, /summary state=completed/);
});

test('SIGTERM during a run: exit 0 after every child is gone', async () => {
  const child = execFile(process.execPath, [MAIN, 'run', '-n', '4', '-s', '6'], { env: QUIET_ENV });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.ok(child.pid);
  assert.ok(
    await waitUntil(() => workersOf(child.pid as number).length === 4, 10_000),
    'four workers started',
  );
  const workers = workersOf(child.pid as number);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  // the simulator reaps its children before it exits: none may be left, not even as an orphan
  for (const pid of workers) assert.equal(isAlive(pid), false, `worker ${pid} gone`);
});

test('npm start, npm run bench, the package command, the image, the chart and npm run stack all launch with the same V8 flags and environment', () => {
  const scripts = JSON.parse(readRepoFile('package.json')).scripts as Record<string, string>;
  assert.equal(scripts.start, `${LAUNCH_ENV_WORDS} node ${LAUNCH_FLAGS} src/main.ts`);
  assert.equal(scripts.bench, `${LAUNCH_ENV_WORDS} node ${LAUNCH_FLAGS} bench/run.ts`);
  assert.equal(
    readRepoFile('bin/process-simulator.js').split('\n')[0],
    `#!/usr/bin/env -S ${LAUNCH_ENV_WORDS} node ${LAUNCH_FLAGS}`,
  );
  const cmd = `CMD ["node", ${LAUNCH_FLAGS.split(' ')
    .map((flag) => JSON.stringify(flag))
    .join(', ')}, "src/main.ts"]`;
  const dockerfile = readRepoFile('Dockerfile');
  assert.ok(dockerfile.includes(cmd), cmd);
  for (const [name, value] of Object.entries(LAUNCH_ENV))
    assert.match(dockerfile, new RegExp(`^ENV ${name}=${value}$`, 'm'), `Dockerfile: ENV ${name}`);
  // the chart's simulator pods and its verdict job
  const command = `command: ["node", ${LAUNCH_FLAGS.split(' ')
    .map((flag) => JSON.stringify(flag))
    .join(', ')}, "src/main.ts"]`;
  // npm run stack starts the simulator itself
  const stack = readRepoFile('scripts/stack.ts');
  assert.ok(
    stack.includes(
      LAUNCH_FLAGS.split(' ')
        .map((flag) => `'${flag}',`)
        .join('\n      '),
    ),
    `scripts/stack.ts: ${LAUNCH_FLAGS}`,
  );
  for (const [name, value] of Object.entries(LAUNCH_ENV))
    assert.ok(stack.includes(`${name}: '${value}',`), `scripts/stack.ts: ${name}`);
  for (const template of ['_pod.tpl', 'job-verdict.yaml']) {
    const text = readRepoFile(`charts/process-simulator/templates/${template}`);
    assert.ok(text.includes(command), `${template}: ${command}`);
    for (const [name, value] of Object.entries(LAUNCH_ENV))
      assert.match(text, new RegExp(`- name: ${name}\\n\\s+value: "${value}"`), `${template}: env ${name}`);
  }
});

test('the package command runs through its shebang, with the flags and environment, and exits 0', async () => {
  // as npx runs it: the file itself, `node` found on PATH (this Node first, as npm puts it there)
  const env: NodeJS.ProcessEnv = { ...QUIET_ENV, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
  // The shebang must set these itself.
  for (const name of Object.keys(LAUNCH_ENV)) delete env[name];
  const child = spawn(BIN, ['run', '-n', '1', '-d', '4s', '--interval', '1000'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    // The engine names itself (its command line becomes `process-simulator`), so the flags Node was
    // started with are read from the engine itself, in /info.
    const api = (await waitUntil(() => /process-simulator ready .*api=(\S+)/.test(log), 20_000))
      ? (/process-simulator ready .*api=(\S+)/.exec(log)?.[1] as string)
      : assert.fail(`no ready line:\n${log}`);
    const info = (await (await fetch(`${api}/info`)).json()) as {
      process: { pid: number; node: string; exec_argv: string[] };
    };
    assert.equal(info.process.pid, child.pid, "env exec'd node in the same PID");
    assert.deepEqual(info.process.exec_argv, LAUNCH_FLAGS.split(' '));
    const environment = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    for (const word of LAUNCH_ENV_WORDS.split(' ')) assert.ok(environment.includes(word), word);
    assert.match(info.process.node, /^v24\./);
    assert.equal(readFileSync(`/proc/${child.pid}/comm`, 'utf8'), 'process-simulat\n');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('output cut short by its reader (plan | head) ends quietly with 0', async () => {
  const { stdout, stderr } = await run(
    'bash',
    [
      '-c',
      `set -o pipefail; ${process.execPath} ${MAIN} plan -p high-cardinality -n 5000 --json | head -c 100 >/dev/null; echo "status $?"`,
    ],
    {
      env: QUIET_ENV,
      timeout: 60_000,
    },
  );
  assert.match(stdout, /^status 0$/m);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});
