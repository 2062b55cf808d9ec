/**
 * Child programs started by tests (collector, Prometheus): each runs in its own process group, its
 * output is kept (bounded) for failure messages, and it is stopped by its process group id, never by
 * name.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** Most bytes of a child's output kept in memory; older output is dropped first. */
const MAX_LOG_CHARS = 256 * 1024;

export interface TestChild {
  readonly pid: number;
  readonly process: ChildProcess;
  /** stdout and stderr so far (the newest MAX_LOG_CHARS) */
  log(): string;
  /** true once it exited (or was stopped) */
  exited(): boolean;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it exited */
  stop(graceMs?: number): Promise<void>;
}

export function spawnChild(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): TestChild {
  // detached: a group of its own, so the group can be signalled without touching the test runner.
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > MAX_LOG_CHARS) log = log.slice(log.length - MAX_LOG_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
    log += `\n[spawn error] ${error.message}\n`;
  });
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const hasExited = () => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  const pid = child.pid;
  if (pid === undefined) {
    return { pid: -1, process: child, log: () => log, exited: () => true, stop: async () => {} };
  }
  let stopping: Promise<void> | undefined;
  return {
    pid,
    process: child,
    log: () => log,
    exited: hasExited,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (hasExited()) return;
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
        await exitedPromise;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
