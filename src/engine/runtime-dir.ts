/**
 * The engine's private runtime directory: the control file and one hard link to the worker per process
 * name. Exec'ing the worker through a link named `nginx-worker` makes the kernel set comm (status Name,
 * `ps -o comm`) and /proc/PID/exe to that name from the first instruction, with no rename race.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIR_PREFIX = 'process-simulator-';
/** several engines may live in one process (tests, several simulators): number them */
let engineCount = 0;

export interface RuntimeDir {
  readonly path: string;
  /** path of the control file (on tmpfs when /dev/shm exists) */
  readonly controlFile: string;
  /**
   * An executable named `name` that runs the worker, created when the first live process needs it.
   * Each call must be paired with one {@link release} when that process has exited.
   */
  executableFor(name: string): string;
  /** One process named `name` is gone; the link goes with the last one, so churn leaves no files. */
  release(name: string): void;
  /** removes the directory and the control file */
  remove(): void;
}

/**
 * Creates the runtime directory of this engine (keyed by its PID) and removes those of engines that no
 * longer run (a crashed engine cannot clean up after itself).
 */
export function createRuntimeDir(workerPath: string, base = tmpdir()): RuntimeDir {
  removeStaleDirs(base);
  const id = `${process.pid}-${++engineCount}`;
  const path = join(base, `${DIR_PREFIX}${id}`);
  const bin = join(path, 'bin');
  mkdirSync(bin, { recursive: true, mode: 0o755 });
  // A private copy so that the links sit on the same filesystem as their target (hard links cannot
  // cross filesystems) and so a rebuild of the worker does not change running processes.
  const worker = join(path, 'worker');
  copyFileSync(workerPath, worker);
  const shm = existsSync('/dev/shm') && statSync('/dev/shm').isDirectory() ? '/dev/shm' : path;
  const controlFile = join(shm, `${DIR_PREFIX}${id}.ctl`);
  // live processes per name: under churn every generation has a new name, and links must not pile up
  const users = new Map<string, number>();
  return {
    path,
    controlFile,
    executableFor(name) {
      const file = join(bin, name);
      const count = users.get(name) ?? 0;
      users.set(name, count + 1);
      if (count === 0) {
        try {
          linkSync(worker, file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
            // a link whose removal failed earlier: same target, keep it
          } else if (
            (error as NodeJS.ErrnoException).code === 'EXDEV' ||
            (error as NodeJS.ErrnoException).code === 'EPERM'
          ) {
            copyFileSync(worker, file);
          } else {
            users.delete(name);
            throw error;
          }
        }
      }
      return file;
    },
    release(name) {
      const count = users.get(name);
      if (count === undefined) return;
      if (count > 1) {
        users.set(name, count - 1);
        return;
      }
      users.delete(name);
      rmSync(join(bin, name), { force: true });
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
      rmSync(controlFile, { force: true });
    },
  };
}

function removeStaleDirs(base: string): void {
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^process-simulator-(\d+)(-\d+)?$/.exec(entry);
    if (!match || Number(match[1]) === process.pid || isAlive(Number(match[1]))) continue;
    rmSync(join(base, entry), { recursive: true, force: true });
    rmSync(join('/dev/shm', `${entry}.ctl`), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
