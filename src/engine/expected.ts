/**
 * The ground truth of one live process: what a correct observer reads of it, derived from what the
 * engine asked for (template, quirks, the program it exec'd), not from /proc. Tests and users hold an
 * observer's report against it; the edge-cases profile is where observers go wrong.
 */
import { MAX_COMM_BYTES } from '../profiles/schema.ts';
import type { ManagedProcess } from './managed-process.ts';
import { paddedLength, pendingMaskOf, resolveUser, userNameOf } from './quirks.ts';

/** What a correct observer reports for one process. */
export interface ExpectedProcess {
  /** the kernel's name (comm), decoded as UTF-8 (bytes that are not UTF-8 become U+FFFD) */
  executableName: string;
  /** the same name's exact bytes, hex: the only exact form of a name that is not UTF-8 */
  executableNameHex: string;
  /** whether the name is valid UTF-8 */
  executableNameUtf8: boolean;
  /** target of /proc/PID/exe, with the kernel's " (deleted)" suffix once the file is gone */
  executablePath: string;
  executableDeleted: boolean;
  /** argv[0] (the collector's process.command) */
  command: string;
  /**
   * bytes of /proc/PID/cmdline: every argument with its NUL (the collector's process.command_line,
   * argv joined by spaces, is one character shorter)
   */
  commandLineBytes: number;
  /** user name of the real uid it runs as */
  owner: string;
  uid: number;
  /** true when it holds itself stopped (state T) */
  stopped: boolean;
  threads: number;
  fds: number;
  /** unreaped children (state Z) it holds: each is a process of its own, with no exe and no cmdline */
  zombieChildren: number;
  /** status ShdPnd as an integer, what process.signals_pending reports */
  signalsPending: number;
}

/** The simulator's own real uid: the owner of every process that does not change user. */
const ownUid = () => process.getuid?.() ?? 0;

/**
 * User names by uid and uids by quirk user, looked up in /etc/passwd once: a list of 10,000 processes
 * asks for the same few users 10,000 times.
 */
const names = new Map<number, string>();
const uids = new Map<string | number, number | undefined>();
function ownerName(uid: number): string {
  let name = names.get(uid);
  if (name === undefined) {
    name = userNameOf(uid);
    names.set(uid, name);
  }
  return name;
}
function quirkUid(user: string | number): number | undefined {
  if (!uids.has(user)) uids.set(user, resolveUser(user)?.uid);
  return uids.get(user);
}

/** What `process` is expected to show, from what the engine asked of it. */
export function expectedOf(process: ManagedProcess): ExpectedProcess {
  const quirks = process.template.quirks;
  const comm = commBytes(process.name, quirks?.comm, quirks?.comm_hex);
  const uid = (quirks?.user === undefined ? undefined : quirkUid(quirks.user)) ?? ownUid();
  const deleted = quirks?.deleted_executable === true;
  const executableName = comm.toString('utf8');
  return {
    executableName,
    executableNameHex: comm.toString('hex'),
    executableNameUtf8: Buffer.from(executableName, 'utf8').equals(comm),
    executablePath: deleted ? `${process.executable} (deleted)` : process.executable,
    executableDeleted: deleted,
    command: process.name,
    commandLineBytes:
      paddedLength(process.name, process.template.args, quirks?.command_line_bytes) +
      process.argvPrefix.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0),
    owner: ownerName(uid),
    uid,
    stopped: quirks?.stopped === true,
    threads: process.targets.threads,
    fds: process.targets.fds,
    zombieChildren: quirks?.zombie_child === true ? 1 : 0,
    signalsPending: pendingMaskOf(quirks?.pending_signals),
  };
}

/** The comm the kernel keeps: the quirk's bytes, else the name exec'd, at most 15 bytes. */
function commBytes(name: string, comm: string | undefined, commHex: string | undefined): Buffer {
  if (commHex !== undefined) return Buffer.from(commHex, 'hex');
  return Buffer.from(comm ?? name, 'utf8').subarray(0, MAX_COMM_BYTES);
}
