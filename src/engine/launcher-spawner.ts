/**
 * The engine's default spawner when the launcher is built: one small child, build/ps-launcher
 * (src/workload/launcher.c, which says why it exists), starts, signals and reaps every simulated
 * process, so the engine never forks itself. Requests and events travel over the launcher's stdin and
 * stdout in the binary format launcher.c documents; requests of one tick go out in one write.
 *
 * What changes for the children: their parent is the launcher (`process.parent_pid` is its PID, and
 * PSIM_PARENT_PID must name it: `parentPid()`), itself a child of the engine in a session of its own.
 * What does not: each child runs detached in its own session and process group with stdio on
 * /dev/null; a signal never reaches a recycled PID (the launcher signals only children it has not
 * reaped); `exited` settles after the child was reaped. If the engine dies, the kernel kills the
 * launcher and then each child (parent-death signals). If the launcher dies, its children die with it:
 * they are reported as killed by SIGKILL, pending spawns fail, and the next spawn starts a new launcher.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { isExecutableFile } from '../workload/worker-path.ts';
import { type ChildExit, SpawnError, type SpawnedChild, type Spawner, type SpawnRequest } from './spawner.ts';

/** Absolute path where scripts/build-worker.ts puts the launcher. */
export const NATIVE_LAUNCHER_PATH = fileURLToPath(new URL('../../build/ps-launcher', import.meta.url));

/** Events are 16 bytes: u32 type, then three u32 values. */
const EVENT_BYTES = 16;
const EVENT = { started: 0x50, failed: 0x46, exited: 0x58 } as const; // 'P', 'F', 'X'
/** The launcher refuses a request above 8 MiB as malformed; the door keeps requests far below it. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, number]) => [number, name]),
);

export function launcherAvailable(path = NATIVE_LAUNCHER_PATH): boolean {
  return isExecutableFile(path);
}

interface Pending {
  request: SpawnRequest;
  resolve: (child: SpawnedChild) => void;
  reject: (error: SpawnError) => void;
}

/**
 * A child of the launcher as the engine holds it, and as the launcher tracks it: one object with its
 * methods on the class, where closures per child cost ~300 bytes more at each of 10,000 children. Its
 * exit goes to its listeners (`onExit`), not through a promise made for every child: a promise, its
 * resolving functions and the engine's `then` were four objects and as many contexts a child (~600
 * bytes, 6 MiB at 10,000, all of it marked at every full collection). `exited` is made when asked,
 * which the engine does only to stop a child.
 */
class LauncherChild implements SpawnedChild {
  readonly pid: number;
  /** how it ended, once it has been reaped (or its launcher is gone) */
  #exit: ChildExit | undefined;
  /** one listener, or several, called once it has ended */
  #listeners: ((exit: ChildExit) => void) | Array<(exit: ChildExit) => void> | undefined;
  #exited: Promise<ChildExit> | undefined;
  readonly #launcher: Launcher;

  constructor(launcher: Launcher, pid: number) {
    this.#launcher = launcher;
    this.pid = pid;
  }

  get exited(): Promise<ChildExit> {
    this.#exited ??= new Promise((resolve) => this.onExit(resolve));
    return this.#exited;
  }

  onExit(listener: (exit: ChildExit) => void): void {
    const exit = this.#exit;
    if (exit !== undefined) queueMicrotask(() => listener(exit));
    else if (this.#listeners === undefined) this.#listeners = listener;
    else if (typeof this.#listeners === 'function') this.#listeners = [this.#listeners, listener];
    else this.#listeners.push(listener);
  }

  /** Records the exit, once, and calls the listeners in a microtask, in the order they came. */
  settle(exit: ChildExit): void {
    if (this.#exit !== undefined) return;
    this.#exit = exit;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners === undefined) return;
    queueMicrotask(() => {
      if (typeof listeners === 'function') listeners(exit);
      else for (const listener of listeners) listener(exit);
    });
  }

  isAlive(): boolean {
    return this.#exit === undefined;
  }

  signalGroup(signal: NodeJS.Signals): boolean {
    return this.#launcher.signal(this.pid, signal, true);
  }

  signal(signal: NodeJS.Signals): boolean {
    return this.#launcher.signal(this.pid, signal, false);
  }
}

/** One running launcher and what it holds. */
class Launcher {
  readonly pid: number;
  readonly #process: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #pending = new Map<number, Pending>();
  readonly #children = new Map<number, LauncherChild>();
  #nextId = 1;
  #queued: Buffer[] = [];
  #flushScheduled = false;
  #partial: Buffer = Buffer.alloc(0);
  #stderr = '';
  #gone = false;
  #referenced = true;
  readonly ended: Promise<void>;
  /** called once the launcher is gone, whatever the reason */
  onGone: () => void = () => {};

  constructor(path: string) {
    let child: ChildProcessByStdio<Writable, Readable, Readable>;
    try {
      // Detached: a terminal's Ctrl-C reaches the engine, which stops its processes in order, and not
      // the launcher, which would take them all down at once.
      child = spawn(path, [String(process.pid)], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      throw toLauncherError(error);
    }
    this.#process = child;
    // Without a PID the spawn failed: the 'error' event says why on the next tick, and rejects the
    // spawns asked for meanwhile with its code (EMFILE, EAGAIN...).
    this.pid = child.pid ?? 0;
    this.ended = new Promise<void>((resolve) => {
      // 'on', not 'once': an unheard 'error' event throws.
      child.on('error', (error: NodeJS.ErrnoException) => {
        this.#end(`the launcher could not start: ${error.message}`, error.code ?? 'ELAUNCHER');
        resolve();
      });
      child.once('close', (code, signal) => {
        this.#end(
          `the launcher exited (${signal ?? `code ${code}`})${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`,
        );
        resolve();
      });
    });
    child.stdout?.on('data', (chunk: Buffer) => this.#read(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-2000);
    });
    // A write to a launcher that just died fails with EPIPE; its exit is handled above.
    child.stdin?.on('error', () => {});
    this.#updateReference();
  }

  get gone(): boolean {
    return this.#gone;
  }

  spawn(request: SpawnRequest): Promise<SpawnedChild> {
    return new Promise<SpawnedChild>((resolve, reject) => {
      if (this.#gone) {
        reject(new SpawnError('ELAUNCHER', `cannot start ${request.argv0}: the launcher is gone`));
        return;
      }
      const id = this.#nextId++;
      let body: Buffer;
      try {
        body = encodeSpawn(id, request);
      } catch (error) {
        reject(error as SpawnError);
        return;
      }
      this.#pending.set(id, { request, resolve, reject });
      this.#updateReference();
      this.#send(body);
    });
  }

  /** Asks the launcher to signal `pid` (or its group); false when the child is known to be gone. */
  signal(pid: number, signal: NodeJS.Signals, group: boolean): boolean {
    const tracked = this.#children.get(pid);
    if (!tracked?.isAlive() || this.#gone) return false;
    const number = osConstants.signals[signal];
    const body = Buffer.allocUnsafe(14);
    body.writeUInt32LE(10, 0);
    body[4] = 0x4b; // 'K'
    body.writeUInt32LE(pid, 5);
    body.writeUInt32LE(number, 9);
    body[13] = group ? 1 : 0;
    this.#send(body);
    return true;
  }

  /** Closes the launcher's stdin: it kills what is left, reaps, reports and exits. */
  close(): Promise<void> {
    this.#flush();
    this.#process.stdin?.end();
    this.#process.ref();
    return this.ended;
  }

  #send(body: Buffer): void {
    this.#queued.push(body);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Every request of this tick in one write.
    process.nextTick(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queued.length === 0 || this.#gone || this.pid === 0) return;
    const bytes = this.#queued.length === 1 ? this.#queued[0] : Buffer.concat(this.#queued);
    this.#queued = [];
    this.#process.stdin.write(bytes as Buffer);
  }

  #read(chunk: Buffer): void {
    let data = this.#partial.length > 0 ? Buffer.concat([this.#partial, chunk]) : chunk;
    let at = 0;
    for (; data.length - at >= EVENT_BYTES; at += EVENT_BYTES) {
      const type = data.readUInt32LE(at);
      const a = data.readUInt32LE(at + 4);
      const b = data.readUInt32LE(at + 8);
      const c = data.readUInt32LE(at + 12);
      if (type === EVENT.started) this.#started(a, b);
      else if (type === EVENT.failed) this.#failed(a, b);
      else if (type === EVENT.exited) this.#exited(a, b === 1 ? undefined : c, b === 1 ? c : undefined);
    }
    data = data.subarray(at);
    this.#partial = data.length > 0 ? Buffer.from(data) : Buffer.alloc(0);
  }

  #started(id: number, pid: number): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    const child = new LauncherChild(this, pid);
    this.#children.set(pid, child);
    pending.resolve(child);
  }

  #failed(id: number, errno: number): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    this.#updateReference();
    let code = 'UNKNOWN';
    try {
      code = getSystemErrorName(-errno);
    } catch {}
    const { argv0, executable } = pending.request;
    pending.reject(new SpawnError(code, `cannot start ${argv0} (${executable}): ${code}: spawn failed`));
  }

  #exited(pid: number, exitCode: number | undefined, signalNumber: number | undefined): void {
    const tracked = this.#children.get(pid);
    if (!tracked) return;
    this.#children.delete(pid);
    this.#updateReference();
    const signal =
      signalNumber === undefined ? undefined : (SIGNAL_NAMES.get(signalNumber) ?? String(signalNumber));
    tracked.settle({ exitCode, signal });
  }

  #end(reason: string, code = 'ELAUNCHER'): void {
    this.#gone = true;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(new SpawnError(code, `cannot start ${pending.request.argv0}: ${reason}`));
    }
    // Each child's parent-death signal (SIGKILL) ends it with the launcher.
    for (const [pid, tracked] of this.#children) {
      this.#children.delete(pid);
      tracked.settle({ exitCode: undefined, signal: 'SIGKILL' });
    }
    this.#updateReference();
    this.onGone();
  }

  /** The launcher keeps the engine's event loop alive while it has children or spawns under way. */
  #updateReference(): void {
    const busy = !this.#gone && (this.#pending.size > 0 || this.#children.size > 0);
    if (busy === this.#referenced) return;
    this.#referenced = busy;
    const { stdin, stdout, stderr } = this.#process;
    const handles = [this.#process, stdout, stderr, stdin] as Array<
      { ref?: () => void; unref?: () => void } | null | undefined
    >;
    for (const handle of handles) {
      if (busy) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

/** 'S' request: u32 length, 'S', u32 id, u16 argc, u16 envc, then NUL-terminated strings. */
function encodeSpawn(id: number, request: SpawnRequest): Buffer {
  const argv = [request.argv0, ...request.args];
  const env = Object.entries(request.env).map(([key, value]) => `${key}=${value}`);
  const strings = [request.executable, ...argv, ...env];
  for (const text of strings) {
    // The door refuses NUL in names, args and values; a NUL here would shift every later string.
    if (text.includes('\0'))
      throw new SpawnError('EINVAL', `cannot start ${request.argv0}: a string of its command holds NUL`);
  }
  if (argv.length > 0xffff || env.length > 0xffff)
    throw new SpawnError('E2BIG', `cannot start ${request.argv0}: too many arguments or variables`);
  const text = Buffer.from(`${strings.join('\0')}\0`);
  const length = 1 + 8 + text.length;
  if (length > MAX_REQUEST_BYTES)
    throw new SpawnError('E2BIG', `cannot start ${request.argv0}: its command is ${length} bytes`);
  const body = Buffer.allocUnsafe(4 + length);
  body.writeUInt32LE(length, 0);
  body[4] = 0x53; // 'S'
  body.writeUInt32LE(id, 5);
  body.writeUInt16LE(argv.length, 9);
  body.writeUInt16LE(env.length, 11);
  text.copy(body, 13);
  return body;
}

function toLauncherError(error: unknown): SpawnError {
  const code = (error as { code?: string })?.code ?? 'UNKNOWN';
  return new SpawnError(code, `cannot start the launcher: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
  });
}

export interface LauncherSpawner extends Spawner {
  /** the launcher's PID (started now if none runs) @throws SpawnError when it cannot start */
  parentPid(): number;
  close(): Promise<void>;
}

/**
 * A spawner that starts each child through the launcher at `path`, started on first use and again
 * after it died.
 */
export function createLauncherSpawner(path = NATIVE_LAUNCHER_PATH): LauncherSpawner {
  let launcher: Launcher | undefined;
  const current = (): Launcher => {
    if (launcher === undefined || launcher.gone) {
      const started = new Launcher(path);
      started.onGone = () => {
        if (launcher === started) launcher = undefined;
      };
      launcher = started;
    }
    return launcher;
  };
  return {
    parentPid: () => current().pid,
    spawn(request) {
      try {
        return current().spawn(request);
      } catch (error) {
        const { code, message } = error as SpawnError;
        return Promise.reject(
          new SpawnError(code, `cannot start ${request.argv0}: ${message}`, { cause: error }),
        );
      }
    },
    async close() {
      const last = launcher;
      launcher = undefined;
      await last?.close();
    },
  };
}
