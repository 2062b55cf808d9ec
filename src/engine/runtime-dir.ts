/**
 * The engine's private runtime files: a copy of the worker, one hard link to it per live process name,
 * and the control file. Exec'ing the worker through a link named `nginx-worker` makes the kernel set
 * comm (status Name, `ps -o comm`) and /proc/PID/exe to that name from the first instruction.
 *
 * The simulator runs as root on shared test hosts, so nobody else may plant or swap a file in its way:
 * - each directory is created by mkdtemp (a random name, created exclusively, mode 0700) under
 *   $XDG_RUNTIME_DIR when that is a private directory of ours, else the system temporary directory;
 *   the control file gets its own mkdtemp directory on /dev/shm (tmpfs) when there is one;
 * - right after creation each directory is checked with lstat: a real directory (no symlink), owned
 *   by our effective uid, with no access for group or others;
 * - files are created with O_CREAT|O_EXCL|O_NOFOLLOW, never opened through a name someone else could
 *   have created; a link found where we expected none is removed and made again (inside our 0700
 *   directory only we, or root, could have put it there);
 * - left-overs of crashed engines are removed only when they are real directories of our own uid
 *   whose recorded engine is gone; anything of another user is left alone. An engine in another PID
 *   namespace (a container sharing /tmp with the host, a simulator under `unshare --pid`) cannot be
 *   looked up by its PID from here: its directory is left alone unless it dates from an earlier boot.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';

export const DIR_PREFIX = 'process-simulator-';
const OWNER_FILE = 'engine.pid';
const EXCLUSIVE = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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
  /** removes both directories (idempotent) */
  remove(): void;
}

export interface RuntimeDirOptions {
  /** where the directory goes @default $XDG_RUNTIME_DIR when private, else os.tmpdir() */
  base?: string;
  /** where the control file's directory goes @default /dev/shm when it is a directory, else `base` */
  shm?: string;
}

/** Our effective uid (process.geteuid is absent only on platforms this program does not run on). */
const euid = () => process.geteuid?.() ?? 0;

/** $XDG_RUNTIME_DIR when it is an absolute path to a real directory of ours with mode 0700. */
export function defaultRuntimeBase(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg)) {
    try {
      const stat = lstatSync(xdg);
      if (stat.isDirectory() && stat.uid === euid() && (stat.mode & 0o077) === 0) return xdg;
    } catch {
      // not there: fall back
    }
  }
  return tmpdir();
}

/** mkdtemp, then proof that what we got is ours and private. */
function privateDir(base: string): string {
  const path = mkdtempSync(join(base, DIR_PREFIX));
  const stat = lstatSync(path);
  if (!stat.isDirectory() || stat.uid !== euid() || (stat.mode & 0o077) !== 0) {
    throw new Error(`runtime directory ${path} is not a private directory of uid ${euid()}`);
  }
  return path;
}

/** Creates `path` exclusively (never through an existing name or link) and writes `data`. */
function createExclusive(path: string, mode: number, data?: string): number {
  const fd = openSync(path, constants.O_RDWR | EXCLUSIVE, mode);
  if (data !== undefined) writeSync(fd, data);
  return fd;
}

/**
 * Creates the runtime files of one engine and removes those of engines that no longer run.
 * @param workerPath the worker binary to copy (links must sit on the copy's filesystem)
 */
export function createRuntimeDir(workerPath: string, options: RuntimeDirOptions = {}): RuntimeDir {
  const base = options.base ?? defaultRuntimeBase();
  const shmBase = options.shm ?? (isDirectory('/dev/shm') ? '/dev/shm' : base);
  removeStaleDirs(base);
  if (shmBase !== base) removeStaleDirs(shmBase);
  const path = privateDir(base);
  let shmDir: string | undefined;
  try {
    closeSync(createExclusive(join(path, OWNER_FILE), 0o600, ownerRecord(process.pid)));
    const bin = join(path, 'bin');
    mkdirSync(bin, { mode: 0o700 });
    const worker = join(path, 'worker');
    copyFileSync(workerPath, worker, constants.COPYFILE_EXCL);
    chmodSync(worker, 0o700);
    shmDir = shmBase === base ? path : privateDir(shmBase);
    if (shmDir !== path)
      closeSync(createExclusive(join(shmDir, OWNER_FILE), 0o600, ownerRecord(process.pid)));
    const controlFile = join(shmDir, 'control');
    // The control table opens it again by name: create it empty here so that open finds our file.
    closeSync(createExclusive(controlFile, 0o600));
    return makeRuntimeDir(path, bin, worker, shmDir, controlFile);
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    if (shmDir && shmDir !== path) rmSync(shmDir, { recursive: true, force: true });
    throw error;
  }
}

function makeRuntimeDir(
  path: string,
  bin: string,
  worker: string,
  shmDir: string,
  controlFile: string,
): RuntimeDir {
  // live processes per name: under churn every generation has a new name, and links must not pile up
  const users = new Map<string, number>();
  return {
    path,
    controlFile,
    executableFor(name) {
      if (basename(name) !== name || name === '.' || name === '..' || name === '') {
        throw new Error(`not a process name: ${JSON.stringify(name)}`);
      }
      const file = join(bin, name);
      const count = users.get(name) ?? 0;
      // A process with the deleted_executable quirk unlinks its link while others of its name live.
      if (count === 0 || !existsLink(file)) {
        try {
          link(worker, file);
        } catch (error) {
          throw new Error(`cannot create the executable for ${name}: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
      users.set(name, count + 1);
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
      if (shmDir !== path) rmSync(shmDir, { recursive: true, force: true });
    },
  };
}

/** A hard link, or a private copy where links are refused; an existing entry is replaced, never used. */
function link(worker: string, file: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      linkSync(worker, file);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && attempt === 0) {
        // A link whose removal failed earlier. Only we can write this directory; make it afresh.
        unlinkSync(file);
        continue;
      }
      if (code === 'EXDEV' || code === 'EPERM') {
        copyFileSync(worker, file, constants.COPYFILE_EXCL);
        chmodSync(file, 0o700);
        return;
      }
      throw error;
    }
  }
}

function existsLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * "pid starttime pidnamespace bootid": the start time tells a live engine from a recycled PID; the PID
 * namespace says where that PID means something; the boot id, whether it is from this boot at all.
 */
function ownerRecord(pid: number): string {
  return `${pid} ${startTimeOf(pid) ?? ''} ${ownPidNamespace() ?? ''} ${bootId() ?? ''}\n`;
}

function ownPidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while the engine recorded in `dir` still runs (same PID, same start time). */
function engineAlive(dir: string, modifiedAtMs: number): boolean {
  // An engine starting beside this one makes its directory, then writes its record: until the record
  // is whole, a young directory is its (two shards starting together removed each other's).
  const halfMade = () => Date.now() - modifiedAtMs < HALF_MADE_GRACE_MS;
  let fd: number;
  try {
    fd = openSync(join(dir, OWNER_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    // No record (an old layout, or a directory half made): judge by the PID in its name, if any.
    const legacy = /^process-simulator-(\d+)-\d+$/.exec(basename(dir));
    return legacy ? startTimeOf(Number(legacy[1])) !== undefined : halfMade();
  }
  try {
    if (!fstatSync(fd).isFile()) return true;
    const record = readFileSync(fd, 'utf8');
    if (!record.endsWith('\n')) return halfMade();
    const [pid, started, namespace, boot] = record.trim().split(' ');
    if (!pid || !/^\d+$/.test(pid)) return false;
    const thisBoot = bootId();
    if (boot && thisBoot && boot !== thisBoot) return false;
    const here = ownPidNamespace();
    // Its PID is one of another namespace: nothing here says whether that engine still runs.
    if (namespace && here && namespace !== here) return true;
    const now = startTimeOf(Number(pid));
    return now !== undefined && (started === undefined || started === '' || now === started);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes runtime directories in `base` that belong to engines no longer running: only real
 * directories (lstat: a symlink is never followed) owned by our uid. Others' entries are left alone.
 */
/** How long a runtime directory without a whole owner record counts as one being made. */
const HALF_MADE_GRACE_MS = 60_000;

export function removeStaleDirs(base: string): void {
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(base, entry);
    try {
      const stat = lstatSync(dir);
      if (!stat.isDirectory() || stat.uid !== euid()) continue;
      if (engineAlive(dir, stat.mtimeMs)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove: leave it
    }
  }
}
