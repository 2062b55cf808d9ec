/**
 * In a container the cgroup's limits, not the node's, decide what fits: an engine inside a real cgroup
 * with a memory limit (or a pids limit) refuses a run beyond it, naming memory.max (or pids.max), though
 * the node's MemAvailable and pid_max would hold it. The test makes the cgroups itself (root), under its
 * own, and removes them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const CREATE = new URL('../fixtures/limits/create-simulation.ts', import.meta.url).pathname;

/** This process's cgroup directory for `controller` (v1), or the unified one (v2). */
function ownCgroup(controller: string): { dir: string; v2: boolean } {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const v1 = lines.find((line) => line.split(':')[1]?.split(',').includes(controller));
  if (v1) return { dir: join('/sys/fs/cgroup', controller, v1.split(':')[2] as string), v2: false };
  const unified = lines.find((line) => line.startsWith('0::'));
  if (unified) return { dir: join('/sys/fs/cgroup', unified.slice(3)), v2: true };
  throw new Error(`no ${controller} cgroup for this process in /proc/self/cgroup`);
}

/** Runs the door of a fresh engine inside a new child cgroup with `limits` written into it. */
function createInCgroup(controller: string, limits: Record<string, string>, profile: unknown) {
  const own = ownCgroup(controller);
  const dir = join(own.dir, `psim-test-${process.pid}-${controller}`);
  try {
    mkdirSync(dir);
  } catch (error) {
    throw new Error(
      `this test makes a cgroup and needs root with a writable cgroupfs: ${(error as Error).message}`,
    );
  }
  try {
    for (const [file, value] of Object.entries(limits)) writeFileSync(join(dir, file), value);
    const output = execFileSync(
      '/bin/sh',
      [
        '-c',
        'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
        'sh',
        dir,
        process.execPath,
        CREATE,
        JSON.stringify(profile),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    return JSON.parse(output) as Record<string, unknown>;
  } finally {
    if (existsSync(dir)) rmdirSync(dir);
  }
}

test('a memory limit of the cgroup refuses a run that the node could hold, naming memory.max', () => {
  const { v2 } = ownCgroup('memory');
  const limit = 512 * 2 ** 20;
  const refused = createInCgroup(
    'memory',
    { [v2 ? 'memory.max' : 'memory.limit_in_bytes']: String(limit) },
    {
      name: 'fat',
      templates: [{ name: 'fat-{i}', count: 4, priority: 'low', memory: 200 }],
    },
  );
  assert.equal(refused.limit, 'memory.max', JSON.stringify(refused));
  assert.ok(Number(refused.value) <= limit, `headroom ${refused.value} within the ${limit} limit`);
  assert.match(String(refused.message), /memory\.max/);
  const fits = createInCgroup(
    'memory',
    { [v2 ? 'memory.max' : 'memory.limit_in_bytes']: String(limit) },
    {
      name: 'slim',
      templates: [{ name: 'slim-{i}', count: 4, priority: 'low', memory: 50 }],
    },
  );
  assert.deepEqual(fits, { ok: true });
});

test('a pids limit of the cgroup refuses a run with more tasks, naming pids.max', () => {
  const refused = createInCgroup(
    'pids',
    { 'pids.max': '200' },
    {
      name: 'threads',
      templates: [{ name: 'many-{i}', count: 10, priority: 'low', threads: 50 }],
    },
  );
  assert.equal(refused.limit, 'pids.max', JSON.stringify(refused));
  assert.ok(Number(refused.value) < 200);
  assert.match(String(refused.message), /pids\.max/);
});
