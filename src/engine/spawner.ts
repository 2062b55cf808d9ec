/**
 * Starting child processes: the only place that spawns (and the only execa import). No shell is ever
 * involved: the executable and every argument are passed as an array.
 */
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
        (error: { exitCode?: number; signal?: string }) => ({ exitCode: error.exitCode, signal: error.signal }),
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
        isAlive,
        signalGroup: (signal) => send(-pid, signal),
        signal: (signal) => send(pid, signal),
      };
    },
  };
}

function toSpawnError(request: SpawnRequest, error: unknown): SpawnError {
  const code = (error as { code?: string })?.code ?? 'UNKNOWN';
  const reason = (error as Error)?.message?.split('\n').at(-1) ?? String(error);
  return new SpawnError(code, `cannot start ${request.argv0} (${request.executable}): ${code}: ${reason}`, { cause: error });
}
