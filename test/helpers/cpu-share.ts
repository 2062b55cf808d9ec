/**
 * CPU shares of a worker judged against what the machine let it have, so the CPU tests hold on a busy
 * machine as on an idle one.
 *
 * A worker burns its share of each 100 ms period until its own CPU clock reaches the target or the
 * period ends; on a loaded machine it gets less than it asks for, and a test that expects the target
 * itself fails there. The scheduler records what the worker was kept from: the time its thread sat
 * runnable on a run queue (/proc/PID/schedstat). Two bounds follow that hold on any machine:
 *   - it never burns more than asked:        run         <= (target + tolerance) x wall
 *   - it asked for at least the target:      run + wait  >= (target - tolerance) x wall
 * (a period in which it fell short was spent running or waiting to run until the period's end). On an
 * idle machine the wait is ~0 and the two bounds close on the target. A worker that does not burn at all
 * fails the second bound whatever the load: a sleeping thread does not wait on a run queue. Tests also
 * `favour()` the worker they measure, so that the machine's load hardly delays it and the bounds stay
 * tight: a worker that asks for too much cannot hide behind a busy machine, nor one that asks for too
 * little behind the run-queue wait (every wake-up on a busy machine waits a little, and at nice -20 alone
 * a worker asking for 20 % instead of 30 % still passed with 5 % of such wait).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setPriority } from 'node:os';
import { schedstat } from './proc.ts';
import { requireTools } from './require.ts';
import { readUntil, sleep } from './wait.ts';

export interface CpuWindow {
  pid: number;
  /** length of the window, seconds */
  wallS: number;
  /** CPU time of the main thread in the window, seconds */
  runS: number;
  /** time the main thread waited on a run queue in the window, seconds */
  waitS: number;
}

/**
 * Gives `pid`'s main thread the highest CFS weight (nice -20) and then the real-time policy SCHED_FIFO
 * (priority 1), so that on a loaded machine it runs whenever it asks to: its run-queue wait stays near 0
 * and the bounds close on the target. Without it a worker that asks for twice its share could pass on a
 * machine busy enough to hold it near the target, and one that asks for too little pass on the wait
 * every wake-up costs there. Only the thread that burns (the main one; setpriority and chrt --pid name one
 * thread on Linux), only for the test's own worker; the kernel's real-time throttling (95 % of each
 * second by default) still leaves the machine to the rest.
 * @throws Error naming what is missing when the priority or the policy cannot be set (root or CAP_SYS_NICE)
 */
export function favour(pid: number): void {
  try {
    setPriority(pid, -20);
  } catch (error) {
    throw new Error(
      `raising pid ${pid} to nice -20 for a CPU measurement needs root (or CAP_SYS_NICE): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const [chrt] = requireTools('chrt');
  const result = spawnSync(chrt, ['--fifo', '--pid', '1', String(pid)], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `SCHED_FIFO for pid ${pid} (a CPU measurement) refused: ${result.stderr || result.error}`,
    );
}

/** Watches `pid`'s main thread for `ms` milliseconds (a measurement window, not a wait for a state). */
export async function measureCpu(pid: number, ms: number): Promise<CpuWindow> {
  const before = schedstat(pid);
  const started = performance.now();
  await sleep(ms);
  const after = schedstat(pid);
  return {
    pid,
    wallS: (performance.now() - started) / 1000,
    runS: after.runS - before.runS,
    waitS: after.waitS - before.waitS,
  };
}

const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)} %`;

/** The window in words: what the worker got, and what it waited for. */
export function describeCpu(window: CpuWindow): string {
  return `ran ${percent(window.runS, window.wallS)} and waited ${percent(window.waitS, window.wallS)} of ${window.wallS.toFixed(2)} s`;
}

/**
 * Asserts that the worker held `target` (a fraction of one core) within `tolerance`, judged against what
 * it could get (see the file's comment).
 */
export function assertCpuShare(window: CpuWindow, target: number, tolerance: number, what: string): void {
  const { wallS, runS, waitS } = window;
  const context = `${what}: pid ${window.pid} ${describeCpu(window)}, target ${(target * 100).toFixed(0)} % ± ${(tolerance * 100).toFixed(0)}`;
  assert.ok(runS <= (target + tolerance) * wallS, `${context}: burnt more than its share`);
  assert.ok(
    runS + waitS >= (target - tolerance) * wallS,
    `${context}: did not even try to burn its share (running plus waiting to run falls short)`,
  );
}

/**
 * Waits until `pid`'s main thread has burnt `cpuMs` more milliseconds of CPU: the worker has taken up a
 * new share. @returns whether it did within `timeoutMs`
 */
export async function burnsWithin(pid: number, cpuMs: number, timeoutMs: number): Promise<boolean> {
  const start = schedstat(pid).runS;
  const reached = await readUntil(
    () => schedstat(pid).runS - start,
    (burnt) => burnt * 1000 >= cpuMs,
    timeoutMs,
    20,
  );
  return reached * 1000 >= cpuMs;
}
