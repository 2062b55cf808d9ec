/**
 * `capture` as a user runs it: a real `node src/main.ts` child recording real processes (this test's
 * own workers, picked by a name prefix of the run), its files, `plan` on what it wrote, fitting a
 * samples file again, Ctrl-C, and the refusals.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Engine } from '../../src/engine/engine.ts';
import { loadProfileFile, validateProfile } from '../../src/profiles/load.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const tag = `e${randomBytes(2).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'cli-capture-'));
let engine: Engine;

async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

before(async () => {
  engine = new Engine({ maxProcesses: 20 });
  const simulation = engine.createSimulation({
    name: 'cli-capture',
    seed: 1,
    durationMs: undefined,
    chaos: false,
    profile: validateProfile({
      name: 'cli-capture',
      templates: [
        {
          name: `${tag}-db`,
          count: 2,
          priority: 'high',
          memory: 24,
          threads: 3,
          fds: 10,
          args: ['-D', '/srv/data'],
        },
        { name: `${tag}-web`, count: 1, priority: 'medium', cpu: 5, memory: 12 },
      ],
    }),
  });
  await engine.startSimulation(simulation.id);
});
after(async () => {
  await engine.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('capture --help, and refusals before anything is recorded', async () => {
  const help = await cli(['capture', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: process-simulator capture/);
  assert.match((await cli(['--help'])).stdout, /capture\s+record this host's processes/);
  // Each kind of refusal and its exit code (the whole table of flags: test/unit/capture-args.test.ts).
  const refusals: Array<[string[], number, RegExp]> = [
    [['capture', '--interval', '50ms'], 2, /--interval: expected at least 100ms \(got "50ms"\)/],
    [['capture', '--keep-samples'], 2, /--keep-samples needs --out FILE.*\nTry `process-simulator --help`/],
    [['-p', 'realistic', 'capture'], 2, /capture takes its own flags after it/],
    [
      ['capture', '--priorities', join(dir, 'missing.yaml')],
      2,
      /priority rules .*missing\.yaml cannot be opened \(ENOENT\)/,
    ],
  ];
  for (const [args, exitCode, message] of refusals) {
    const { code, stderr } = await cli(args);
    assert.equal(code, exitCode, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
  }
});

test('capture writes a profile, its samples and a replay; plan shows where it came from; the samples fit again', async () => {
  const out = join(dir, 'host.yaml');
  const { code, stderr } = await cli([
    'capture',
    '--for',
    '3s',
    '--interval',
    '500ms',
    '--name',
    `${tag}-*`,
    '--out',
    out,
    '--keep-samples',
  ]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^capture: recording 3s, a reading every 500ms/m);
  assert.match(stderr, /^capture: reading 7\/7, 3 processes live, 3 seen, 0 exited/m);
  assert.match(
    stderr,
    /capture: 2 templates, 3 processes from 3 recorded; .* wrote .*host\.yaml, .*host\.samples\.json, .*host\.replay\.yaml/,
  );
  const profile = loadProfileFile(out);
  assert.deepEqual(
    profile.templates.map((t) => [t.name, t.count, t.threads, t.fds, t.args]),
    [
      [`${tag}-db`, 2, 3, 10, ['-D', '/srv/data']],
      [`${tag}-web`, 1, 1, 3, []],
    ],
  );
  assert.match(
    readFileSync(out, 'utf8'),
    /^# A profile fitted to a recording of a real host\.\n# Captured by process-simulator from /,
  );
  assert.equal(loadProfileFile(join(dir, 'host.replay.yaml')).templates.length, 3);
  assert.equal(JSON.parse(readFileSync(join(dir, 'host.samples.json'), 'utf8')).processes.length, 3);

  const plan = await cli(['plan', '-f', out]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /^captured from \S+ \(kernel .+\), .* \(3s\), 7 samples every 500ms$/m);
  assert.match(plan.stdout, /^ {2}options: --name e[0-9a-f]{4}-\*$/m);
  assert.match(
    plan.stdout,
    new RegExp(`^ {4}${tag}-db \\(2\\): cpu steady \\(12 samples, rmse [\\d.]+%\\); memory steady`, 'm'),
  );

  const refit = await cli([
    'capture',
    '--from-samples',
    join(dir, 'host.samples.json'),
    '--anonymise',
    '--scale',
    '0.5',
  ]);
  assert.equal(refit.code, 0, refit.stderr);
  assert.ok(!refit.stdout.includes(tag), 'anonymised names');
  assert.match(refit.stdout, /^ {2}- name: p-[0-9a-f]{10}\n {4}count: 1\n/m);
  const again = await cli([
    'capture',
    '--for',
    '1s',
    '--interval',
    '500ms',
    '--name',
    `${tag}-*`,
    '--out',
    out,
  ]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /EEXIST.*--force replaces it/);
});

test('Ctrl-C ends the recording early and keeps what was read', async () => {
  const out = join(dir, 'interrupted.yaml');
  const child = spawn(
    process.execPath,
    [MAIN, 'capture', '--for', '20s', '--interval', '200ms', '--name', `${tag}-*`, '--out', out],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    // Without a terminal a progress line comes every tenth of the recording: the second one is 2 s in.
    await waitFor('a second progress line', { timeoutMs: 20_000, lastSeen: () => stderr }, () =>
      /reading ([2-9]\d|1\d\d)\/101/.test(stderr),
    );
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  assert.match(stderr, /capture: stopped by SIGINT after \d+ readings/);
  assert.ok(existsSync(out));
  assert.equal(loadProfileFile(out).templates.length, 2);
});

test("the README's worked example runs as written, only shorter", async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Capturing a real host')))?.[1];
  assert.ok(block, 'a sh block in "Capturing a real host"');
  const commands = block
    .split('\n')
    .map((line) => line.replace(/\s*#.*$/, '').trim())
    .filter(Boolean);
  assert.deepEqual(
    commands.map((command) => command.split(' ').slice(0, 3).join(' ')),
    [
      'npx process-simulator capture',
      'npx process-simulator plan',
      'npm run collector',
      'npx process-simulator run',
      'npx process-simulator run',
    ],
  );
  const env = { ...process.env, OTEL_METRICS_EXPORTER: 'none', METRICS_PORT: '0', CONTROL_PORT: '0' };
  const work = mkdtempSync(join(dir, 'readme-'));
  for (const command of commands) {
    // The collector is not what is tested here; the runs export nowhere.
    if (command.startsWith('npm run collector')) continue;
    const args = command
      .replace(/^npx process-simulator /, '')
      .replace('--for 10m --interval 5s', `--for 2s --interval 500ms --name ${tag}-*`)
      .split(' ');
    if (args[0] === 'run') args.push('-d', '2s');
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], {
      cwd: work,
      env,
      timeout: 60_000,
    });
    if (args[0] === 'plan') assert.match(stdout, /^captured from /m);
    if (args[0] === 'run') assert.match(stderr, /summary/);
  }
  assert.ok(existsSync(join(work, 'db-node.replay.yaml')) && existsSync(join(work, 'db-node.samples.json')));
});
