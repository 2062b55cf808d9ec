/**
 * Starting child processes: the only place that spawns. No shell is ever involved: the executable and
 * every argument are passed as an array. Two spawners behind one interface: the engine's default spawns
 * with node:child_process, because at 10,000 children execa's per-child bookkeeping (promises, option
 * objects, listeners: ~18 KB of heap and ~50 KB of RSS per child, measured) alone would take ~500 MB;
 * the execa one is kept for callers that want its promise-based handling, and both are tested at the fd
 * limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { execa } from 'execa';

export interface SpawnRequest {
  /** absolute path of the program to exec */
  executable: string;
  /** argv[0] as the child sees it (what `ps` and /proc/PID/cmdline show first) */
  argv0: string;
  args: readonly string[];
  /** the child's whole environment (the parent's is not inherited) */
  env: Readonly<Record<string, string>>;
}

/** How a child ended: data, not an exception. */
export interface ChildExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface SpawnedChild {
  readonly pid: number;
  /** settles once the child has exited and been reaped */
  readonly exited: Promise<ChildExit>;
  /**
   * Calls `listener` once the child has exited and been reaped, in a microtask as `exited.then` would,
   * without the promises: the engine listens to every child for its whole life (see LauncherChild).
   */
  onExit(listener: (exit: ChildExit) => void): void;
  /** true while the child has not been reaped, so a signal cannot reach a recycled PID */
  isAlive(): boolean;
  /** sends `signal` to the child's process group; false when it is already gone */
  signalGroup(signal: NodeJS.Signals): boolean;
  /** sends `signal` to the child alone; false when it is already gone */
  signal(signal: NodeJS.Signals): boolean;
}

/** Raised when the OS refuses a new process (EAGAIN, EMFILE, ENOMEM, ENOENT...). */
export class SpawnError extends Error {
  override readonly name = 'SpawnError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface Spawner {
  /** @throws SpawnError when the process could not be started */
  spawn(request: SpawnRequest): Promise<SpawnedChild>;
  /** the PID the children's parent will have (PSIM_PARENT_PID) @default this process's */
  parentPid?(): number;
  /** ends what the spawner runs of its own (after every child was stopped) */
  close?(): Promise<void>;
}

/**
 * Spawns each child detached (its own session and process group, so a signal to the group reaches
 * exactly that child), with stdio on /dev/null (no pipes: a pipe costs the parent fds and 10,000
 * children would run out of them) and with execa's promise settling on exit instead of rejecting.
 */
export function createExecaSpawner(): Spawner {
  return {
    async spawn(request) {
      let subprocess: ReturnType<typeof execa>;
      try {
        subprocess = execa(request.executable, [...request.args], {
          argv0: request.argv0,
          env: { ...request.env },
          extendEnv: false,
          stdio: 'ignore',
          detached: true,
          reject: false,
          // The engine stops its children itself; the worker's parent-death signal covers crashes.
          cleanup: false,
          buffer: false,
        });
      } catch (error) {
        throw toSpawnError(request, error);
      }
      const pid = subprocess.pid;
      if (pid === undefined) {
        // execa reports spawn failures (ENOENT, EAGAIN...) through the settled result.
        const result = await subprocess;
        throw toSpawnError(request, result.cause ?? result);
      }
      let alive = true;
      const exited = subprocess.then(
        (result) => ({ exitCode: result.exitCode, signal: result.signal }),
        (error: { exitCode?: number; signal?: string }) => ({
          exitCode: error.exitCode,
          signal: error.signal,
        }),
      );
      // execa settles right after Node reaps the child; from then on its PID may be recycled, so no
      // signal may be sent to it.
      void exited.then(() => {
        alive = false;
      });
      const isAlive = () => alive;
      const send = (target: number, signal: NodeJS.Signals) => {
        if (!isAlive()) return false;
        try {
          process.kill(target, signal);
          return true;
        } catch {
          return false;
        }
      };
      return {
        pid,
        exited,
        onExit: (listener) => void exited.then(listener),
        isAlive,
        signalGroup: (signal) => send(-pid, signal),
        signal: (signal) => send(pid, signal),
      };
    },
  };
}

/**
 * Spawns each child detached, with stdio on /dev/null, straight through node:child_process: a child
 * costs the parent ~3 KB. A refused spawn (EAGAIN, EMFILE, ENOENT...) arrives as the child's 'error'
 * event before any 'spawn' event and becomes a SpawnError; the exit is the 'exit' event, after the
 * child was reaped.
 */
export function createNodeSpawner(): Spawner {
  return {
    spawn(request) {
      return new Promise<SpawnedChild>((resolve, reject) => {
        let child: ChildProcess;
        try {
          child = spawn(request.executable, [...request.args], {
            argv0: request.argv0,
            env: { ...request.env },
            stdio: 'ignore',
            detached: true,
          });
        } catch (error) {
          reject(toSpawnError(request, error));
          return;
        }
        let alive = true;
        const exited = new Promise<ChildExit>((settle) => {
          child.once('exit', (code, signal) => {
            // Reaped: from now on the PID may be recycled, so no signal may be sent to it.
            alive = false;
            settle({ exitCode: code ?? undefined, signal: signal ?? undefined });
          });
        });
        let spawned = false;
        // Before 'spawn', an error means the OS refused the process; after it, there is nothing to do
        // (signals go through process.kill), but the listener stays so the event can never throw.
        child.on('error', (error) => {
          if (!spawned) reject(toSpawnError(request, error));
        });
        child.once('spawn', () => {
          spawned = true;
          const pid = child.pid as number;
          const send = (target: number, signal: NodeJS.Signals) => {
            if (!alive) return false;
            try {
              process.kill(target, signal);
              return true;
            } catch {
              return false;
            }
          };
          resolve({
            pid,
            exited,
            onExit: (listener) => void exited.then(listener),
            isAlive: () => alive,
            signalGroup: (signal) => send(-pid, signal),
            signal: (signal) => send(pid, signal),
          });
        });
      });
    },
  };
}

function toSpawnError(request: SpawnRequest, error: unknown): SpawnError {
  const code = (error as { code?: string })?.code ?? 'UNKNOWN';
  const reason = (error as Error)?.message?.split('\n').at(-1) ?? String(error);
  return new SpawnError(code, `cannot start ${request.argv0} (${request.executable}): ${code}: ${reason}`, {
    cause: error,
  });
}
