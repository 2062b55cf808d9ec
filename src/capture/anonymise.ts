/**
 * Anonymising a capture: process names, command lines, the host name and (in a samples file) owners,
 * executables and cgroups replaced before anything is written. Names and arguments go through a keyed
 * hash (HMAC-SHA256): without the key, "p-3fa9c01b2e" cannot be turned back into "postgres" by hashing
 * a list of likely names. The key is random for each capture unless `--salt` gives one, so two captures
 * (of two hosts, or today and next week) can use the same names. A name map renames chosen names and
 * arguments instead; anything it does not name is hashed all the same, so nothing leaks by omission.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_PROFILE_FILE_BYTES } from '../config/defaults.ts';
import { readUserFile } from '../profiles/read-file.ts';
import { hasControlCharacter } from '../profiles/schema.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import { nameProblem } from './holdable.ts';
import { type Recording, SKIP_LABELS } from './recording.ts';

export interface Anonymiser {
  /** a process name, always a valid template name */
  name(name: string): string;
  /** one command-line argument */
  arg(arg: string): string;
  /** anything else: host, owner, executable, cgroup */
  text(text: string): string;
  /** how, for the profile's options (never the key) */
  readonly description: string;
}

/** Keyed hashes; `salt` undefined draws a random key for this capture. */
export function hashAnonymiser(salt?: string): Anonymiser {
  const key = salt ?? randomBytes(32).toString('hex');
  const hash = (kind: string, value: string, length: number) =>
    createHmac('sha256', key).update(`${kind}\u0000${value}`).digest('hex').slice(0, length);
  return {
    // 12 bytes: inside the 15-byte process name; 40 bits leave a collision unlikely among 1000 names.
    name: (name) => `p-${hash('name', name, 10)}`,
    arg: (arg) => `a-${hash('arg', arg, 10)}`,
    text: (text) => (text === '' ? '' : `h-${hash('text', text, 10)}`),
    description: `anonymised (keyed hash${salt === undefined ? ', random key' : ', key from --salt'})`,
  };
}

const mapSchema = z.strictObject({
  names: z.record(z.string(), z.string()).default({}),
  args: z.record(z.string(), z.string().max(256)).default({}),
});

/**
 * Renames from a map (`names: {postgres: db}`, `args: {/var/lib/pg: /data}`), hashing what it does not
 * name. @throws ValidationError naming a target that is not a valid process name or argument
 */
export function mapAnonymiser(text: string, what: string, salt?: string): Anonymiser {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ValidationError(what, [{ path: '', message: `not YAML or JSON: ${firstLine(error)}` }]);
  }
  const result = mapSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) throw ValidationError.fromZod(what, result.error);
  const issues: Array<{ path: string; message: string; value?: unknown }> = [];
  for (const [from, to] of Object.entries(result.data.names)) {
    const problem = nameProblem(to);
    if (problem) issues.push({ path: `names.${from}`, value: to, message: problem });
  }
  for (const [from, to] of Object.entries(result.data.args)) {
    if (hasControlCharacter(to)) issues.push({ path: `args.${from}`, value: to, message: 'printable text' });
  }
  if (issues.length) throw new ValidationError(what, issues);
  const names = new Map(Object.entries(result.data.names));
  const args = new Map(Object.entries(result.data.args));
  const hashed = hashAnonymiser(salt);
  return {
    name: (name) => names.get(name) ?? hashed.name(name),
    arg: (arg) => args.get(arg) ?? hashed.arg(arg),
    text: hashed.text,
    description: `anonymised (name map${salt === undefined ? ', the rest by keyed hash, random key' : ', the rest by keyed hash, key from --salt'})`,
  };
}

/** Reads a name map file (a regular file of at most 1 MiB). @throws ValidationError naming the file */
export function loadNameMap(path: string, salt?: string): Anonymiser {
  const what = `name map ${path}`;
  const text = readUserFile(path, {
    limitBytes: MAX_PROFILE_FILE_BYTES,
    kind: 'name maps',
    fail: (problem) => new ValidationError(what, [{ path: '', message: problem }], `${what} ${problem}`),
  });
  return mapAnonymiser(text, what, salt);
}

/** The recording with every name, argument, host, owner, executable and cgroup replaced. */
export function anonymiseRecording(recording: Recording, anonymiser: Anonymiser): Recording {
  return {
    ...recording,
    host: anonymiser.text(recording.host),
    options: [
      ...recording.options.map((option) => anonymiseOption(option, anonymiser)),
      anonymiser.description,
    ],
    processes: recording.processes.map((process) => ({
      ...process,
      name: anonymiser.name(process.name),
      owner: anonymiser.text(process.owner),
      executable: anonymiser.text(process.executable),
      args: process.args.map(anonymiser.arg),
      cgroup: anonymiser.text(process.cgroup),
    })),
    skipped: recording.skipped.map((skip) => anonymiseSkipped(skip, anonymiser)),
  };
}

/** A left-out group with its process name hashed; counted groups (kernel threads...) keep their label. */
export function anonymiseSkipped<T extends { name: string; reason: string }>(
  skip: T,
  anonymiser: Anonymiser,
): T {
  return {
    ...skip,
    name: SKIP_LABELS.has(skip.name) ? skip.name : anonymiser.name(skip.name),
    reason: skip.reason.replace(/\/proc\/\d+\//g, '/proc/PID/').replace(/\bpid \d+/g, 'pid N'),
  };
}

/** `--name postgres*` names what was recorded: its value is hashed like any text. */
export function anonymiseOption(option: string, anonymiser: Anonymiser): string {
  const space = option.indexOf(' ');
  return space < 0 ? option : `${option.slice(0, space)} ${anonymiser.text(option.slice(space + 1))}`;
}

/** The parser's message up to its position, without the quoted lines of the file that follow it. */
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? '';
}
