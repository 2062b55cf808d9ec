/**
 * The benchmark's profile between two SIGUSR2 (bench/lib/profile-on-signal.ts), in a real Node child:
 * nothing is written before the second signal, the profile then covers the time between the two (on
 * the monotonic clock the benchmark cuts its windows with) and sees the child's own function, and a
 * third signal changes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CpuProfile } from '../../bench/lib/cpu-profile.ts';
import { spawnChild } from '../helpers/children.ts';
import { waitFor } from '../helpers/wait.ts';

const MODULE = join(import.meta.dirname, '..', '..', 'bench', 'lib', 'profile-on-signal.ts');
// Spins in a function of a known name for a few milliseconds every 10 ms, until stopped.
const SPIN = `
function spinForTheProfile() { const until = performance.now() + 3; while (performance.now() < until); }
setInterval(spinForTheProfile, 10);
process.stdout.write('ready\\n');
`;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a profile runs from the first SIGUSR2 to the second and is written at the second', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-profile-test-'));
  const child = spawnChild(process.execPath, ['--import', MODULE, '--input-type=module', '-e', SPIN], {
    ...process.env,
    BENCH_PROFILE_DIR: dir,
  });
  try {
    await waitFor('the child to start', { timeoutMs: 10_000, everyMs: 20, lastSeen: child.log }, () =>
      child.log().includes('ready'),
    );
    const file = join(dir, 'engine.cpuprofile');
    const startedAt = nowUs();
    process.kill(child.pid, 'SIGUSR2');
    await waitFor('the profile to start', { timeoutMs: 10_000, everyMs: 20 }, () =>
      existsSync(join(dir, 'started')),
    );
    await sleep(300);
    assert.equal(existsSync(file), false, 'nothing written before the second signal');
    const stoppedAt = nowUs();
    process.kill(child.pid, 'SIGUSR2');
    await waitFor('the profile to be written', { timeoutMs: 10_000, everyMs: 20 }, () => existsSync(file));
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    assert.ok(
      profile.startTime >= startedAt,
      `profile starts ${profile.startTime} after the signal ${startedAt}`,
    );
    assert.ok(
      profile.endTime >= stoppedAt,
      `profile ends ${profile.endTime} after the second signal ${stoppedAt}`,
    );
    assert.ok(
      profile.endTime - profile.startTime < 60_000_000,
      'the profile lasts the seconds between the signals',
    );
    assert.ok(profile.samples.length >= 50, `${profile.samples.length} samples`);
    assert.ok(
      profile.nodes.some((node) => node.callFrame.functionName === 'spinForTheProfile'),
      'the child’s own function is in the profile',
    );
    const written = statSync(file).mtimeMs;
    process.kill(child.pid, 'SIGUSR2');
    await sleep(300);
    assert.equal(child.exited(), false, 'a third signal neither ends the child');
    assert.equal(statSync(file).mtimeMs, written, 'nor writes again');
    assert.equal(existsSync(`${file}.partial`), false);
  } finally {
    await child.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the second signal writes the profile however soon after the start it comes', async () => {
  // Two signals sent together may reach the process as one (a pending signal is not queued twice), so
  // the benchmark sends the second only once `started` exists; from then on any delay must do.
  for (const delayMs of [0, 1, 5, 20]) {
    const dir = mkdtempSync(join(tmpdir(), 'psim-profile-test-'));
    const child = spawnChild(process.execPath, ['--import', MODULE, '--input-type=module', '-e', SPIN], {
      ...process.env,
      BENCH_PROFILE_DIR: dir,
    });
    try {
      await waitFor('the child to start', { timeoutMs: 10_000, everyMs: 20, lastSeen: child.log }, () =>
        child.log().includes('ready'),
      );
      process.kill(child.pid, 'SIGUSR2');
      await waitFor('the profile to start', { timeoutMs: 10_000, everyMs: 1 }, () =>
        existsSync(join(dir, 'started')),
      );
      if (delayMs > 0) await sleep(delayMs);
      process.kill(child.pid, 'SIGUSR2');
      const file = join(dir, 'engine.cpuprofile');
      await waitFor(`the profile ${delayMs} ms after the start`, { timeoutMs: 10_000, everyMs: 20 }, () =>
        existsSync(file),
      );
      const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
      assert.ok(profile.endTime >= profile.startTime, `${delayMs} ms`);
      assert.equal(child.exited(), false);
      assert.doesNotMatch(child.log(), /benchmark profile:/, 'no warning from the profile');
    } finally {
      await child.stop(1000);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
