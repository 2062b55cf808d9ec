/**
 * One SIGKILL trial of the simulator as a real process: `node src/main.ts` with a few simulated
 * processes, its children's PIDs read from /proc (PPid), the simulator SIGKILLed (no handler can run),
 * then every child checked: dead (gone or a zombie) within the deadline, and reaped soon after.
 * Shared by the fault tests (a few dozen trials) and `npm run bench -- --sigkill-trials N`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild } from './children.ts';
import { workersOf } from './proc.ts';
import { waitUntil } from './wait.ts';

export const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

export interface SigkillTrial {
  /** simulated processes running when the simulator was killed */
  children: number;
  /** ms from the SIGKILL until every child was dead (gone or zombie); NaN if the deadline passed */
  allDeadMs: number;
  /** children still running (not zombies) at the deadline: orphans */
  orphans: number[];
  /** children not yet reaped (still zombies) `reapWindowMs` after the SIGKILL */
  unreaped: number[];
}

/** starttime of a PID (field 22 of stat), to tell a recycled PID from ours; undefined when gone. */
function identity(pid: number): { state: string; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] as string, start: fields[19] as string };
  } catch {
    return undefined;
  }
}

export interface TrialOptions {
  processes: number;
  /** every child must be dead this long after the SIGKILL @default 1000 */
  deadlineMs?: number;
  /** how long children may stay zombies before they count as unreaped @default 5000 */
  reapWindowMs?: number;
  /** how long the simulator may take to start all its processes @default 30000 */
  startTimeoutMs?: number;
}

export async function sigkillTrial(options: TrialOptions): Promise<SigkillTrial> {
  const { processes, deadlineMs = 1000, reapWindowMs = 5000, startTimeoutMs = 30_000 } = options;
  const simulator = spawnChild(process.execPath, [MAIN], {
    ...process.env,
    PROFILE: 'high-cardinality',
    PROCESS_COUNT: String(processes),
    SEED: '7',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_PORT: '0',
    OTEL_METRICS_EXPORTER: 'none',
    LOG_LEVEL: 'warn',
  });
  const started = new Map<number, string>();
  try {
    const ready = await waitUntil(
      () => simulator.exited() || workersOf(simulator.pid).length >= processes,
      startTimeoutMs,
      25,
    );
    if (!ready || simulator.exited()) {
      throw new Error(
        `the simulator did not start ${processes} processes within ${startTimeoutMs} ms:\n${simulator.log()}`,
      );
    }
    for (const pid of workersOf(simulator.pid)) {
      const id = identity(pid);
      if (id) started.set(pid, id.start);
    }
    const isDead = (pid: number) => {
      const id = identity(pid);
      return id === undefined || id.start !== started.get(pid) || id.state === 'Z' || id.state === 'X';
    };
    const isGone = (pid: number) => {
      const id = identity(pid);
      return id === undefined || id.start !== started.get(pid);
    };
    const killedAt = performance.now();
    process.kill(simulator.pid, 'SIGKILL');
    let allDeadMs = Number.NaN;
    await waitUntil(
      () => {
        if ([...started.keys()].every(isDead)) {
          allDeadMs = performance.now() - killedAt;
          return true;
        }
        return false;
      },
      deadlineMs,
      5,
    );
    const orphans = [...started.keys()].filter((pid) => !isDead(pid));
    await waitUntil(
      () => [...started.keys()].every(isGone),
      Math.max(0, reapWindowMs - (performance.now() - killedAt)),
      50,
    );
    const unreaped = [...started.keys()].filter((pid) => !isGone(pid));
    return { children: started.size, allDeadMs, orphans, unreaped };
  } finally {
    await simulator.stop(1000);
    // Whatever survived a failed trial is ended by its PID, if that PID is still ours.
    for (const [pid, start] of started) {
      if (identity(pid)?.start === start) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
  }
}
