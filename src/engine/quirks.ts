/**
 * A template's quirks (schema.ts, `quirks`) as the worker receives them: environment variables it
 * reads at start, and padding arguments for a long command line. The user a process runs as is
 * resolved here, at the door: an unknown user, or a user change while the simulator is not root, is
 * refused before anything is spawned.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Profile, Quirks } from '../profiles/schema.ts';
import { EngineError } from './errors.ts';

/** Bytes of one padding argument (well under the kernel's 128 KiB limit per argument). */
const PAD_ARG_BYTES = 4096;

export interface ResolvedUser {
  uid: number;
  gid: number;
}

/** uid and primary gid of a user name or uid, from /etc/passwd (a uid absent there runs with gid = uid). */
export function resolveUser(user: string | number, passwd = '/etc/passwd'): ResolvedUser | undefined {
  let text = '';
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    // no passwd file: only numeric users can be resolved
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (uid === undefined || gid === undefined) continue;
    if (name === user || Number(uid) === user) return { uid: Number(uid), gid: Number(gid) };
  }
  return typeof user === 'number' ? { uid: user, gid: user } : undefined;
}

/**
 * Refuses a profile whose quirks cannot be held here: another user while not root, an unknown user.
 * @throws EngineError invalid naming the template's field
 */
export function checkQuirks(profile: Profile, isRoot = (process.geteuid?.() ?? 0) === 0): void {
  profile.templates.forEach((template, index) => {
    const user = template.quirks?.user;
    if (user === undefined || template.count === 0) return;
    const field = `templates.${index}.quirks.user`;
    if (!isRoot) {
      throw new EngineError(
        'invalid',
        `${field} (${template.name}): running a process as ${JSON.stringify(user)} needs the simulator to run as root`,
        { field, value: user },
      );
    }
    if (!resolveUser(user)) {
      throw new EngineError(
        'invalid',
        `${field} (${template.name}): no user ${JSON.stringify(user)} in /etc/passwd`,
        {
          field,
          value: user,
        },
      );
    }
  });
}

/** The worker's environment for `quirks` (empty without quirks). */
export function quirkEnv(quirks: Quirks | undefined): Record<string, string> {
  if (!quirks) return {};
  const env: Record<string, string> = {};
  const flags = [
    quirks.zombie_child && 'zombie',
    quirks.stopped && 'stopped',
    quirks.deleted_executable && 'deleted-exe',
  ].filter(Boolean);
  if (flags.length > 0) env.PSIM_QUIRKS = flags.join(',');
  if (quirks.comm !== undefined) env.PSIM_COMM_HEX = Buffer.from(quirks.comm).toString('hex');
  if (quirks.comm_hex !== undefined) env.PSIM_COMM_HEX = quirks.comm_hex.toLowerCase();
  if (quirks.pending_signals !== undefined) {
    env.PSIM_PENDING_SIGNALS = quirks.pending_signals.map((name) => constants.signals[name]).join(',');
  }
  if (quirks.user !== undefined) {
    const user = resolveUser(quirks.user);
    if (user) {
      env.PSIM_UID = String(user.uid);
      env.PSIM_GID = String(user.gid);
    }
  }
  return env;
}

/**
 * The pending-signal mask the kernel shows for `signals` (status `ShdPnd`): signal N sets bit N-1. The
 * signals that may be held are all below 32, so the mask is an exact number.
 */
export function pendingMaskOf(signals: readonly NodeJS.Signals[] | undefined): number {
  let mask = 0;
  for (const name of signals ?? []) mask += 2 ** (constants.signals[name] - 1);
  return mask;
}

/** The user name of `uid` in /etc/passwd, or the uid as a string (what the collector cannot name). */
export function userNameOf(uid: number, passwd = '/etc/passwd'): string {
  let text = '';
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    // no passwd file: every user by number
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === uid && id !== '') return name;
  }
  return String(uid);
}

/**
 * Bytes of /proc/PID/cmdline for argv[0] `name` and `args` padded as `paddedArgs` pads them: each
 * argument with its NUL, at least `bytes`.
 */
export function paddedLength(name: string, args: readonly string[], bytes: number | undefined): number {
  const natural = [name, ...args].reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  return bytes === undefined ? natural : Math.max(natural, bytes);
}

/**
 * `args` with padding appended so that the whole command line (argv[0] `name`, each argument and its
 * terminating NUL, as /proc/PID/cmdline holds it) is `bytes` long; `args` unchanged when it is longer.
 */
export function paddedArgs(name: string, args: readonly string[], bytes: number | undefined): string[] {
  if (bytes === undefined) return [...args];
  const padded = [...args];
  let length = Buffer.byteLength(name) + 1 + args.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  while (length < bytes) {
    const size = Math.min(PAD_ARG_BYTES, bytes - length - 1);
    if (size <= 0) {
      // Exactly one byte short: an empty argument adds only its NUL.
      padded.push('');
      length += 1;
      continue;
    }
    padded.push('p'.repeat(size));
    length += size + 1;
  }
  return padded;
}
