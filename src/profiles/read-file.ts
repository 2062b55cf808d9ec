/**
 * Reads a profile file the user named, at most {@link MAX_PROFILE_FILE_BYTES}. readFileSync would read
 * /dev/zero until memory ran out and block forever on a FIFO with no writer; here the file is opened
 * without waiting (O_NONBLOCK), must be a regular file (checked on the open descriptor, so a symlink is
 * judged by what it points to at the moment of reading), and reading stops one byte past the limit,
 * which also covers files whose size stat does not know (/proc).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { MAX_PROFILE_FILE_BYTES } from '../config/defaults.ts';
import { ValidationError } from './validation-error.ts';

/** The limit as people read it: "1 MiB". */
export const PROFILE_FILE_LIMIT_TEXT = `${MAX_PROFILE_FILE_BYTES / 1024 / 1024} MiB`;

/**
 * A profile file (or another file the user named, `kind`) that could not be read, parsed or accepted;
 * its message never quotes the file.
 */
export class ProfileFileError extends ValidationError {
  constructor(path: string, problem: string, field = '', kind = 'profile file') {
    super(`${kind} ${path}`, [{ path: field, message: problem }], `${kind} ${path} ${problem}`);
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The limit as people read it: "1 MiB", "256 MiB". */
function limitText(bytes: number): string {
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20} MiB` : `${bytes} bytes`;
}

/**
 * The text of the profile file at `path` (UTF-8, a leading byte-order mark dropped).
 * @param kind what the file is, in messages @default 'profile file'
 * @throws ProfileFileError naming the path and the reason: missing, not a regular file, over the limit
 */
export function readProfileText(path: string, kind = 'profile file'): string {
  return readUserFile(path, {
    limitBytes: MAX_PROFILE_FILE_BYTES,
    kind: `${kind}s`,
    fail: (problem) => new ProfileFileError(path, problem, '', kind),
  });
}

/**
 * The text of a file a user named (UTF-8, a leading byte-order mark dropped), read as a profile file
 * is: opened without waiting, a regular file only, at most `limitBytes`.
 * @param options.kind what the limit is for, in the message ("profile files")
 * @param options.fail makes the error for a problem ("cannot be opened (ENOENT)"); its message must not
 *   quote the file
 */
export function readUserFile(
  path: string,
  options: { limitBytes: number; kind: string; fail: (problem: string) => Error },
): string {
  const { limitBytes, fail } = options;
  const tooLarge = (size: string) =>
    fail(
      `is larger than ${limitText(limitBytes)} (${limitBytes} bytes), the limit for ${options.kind}: it has ${size}`,
    );
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw fail(`cannot be opened (${code})`);
  }
  const failed = new WeakSet<Error>();
  const raise = (error: Error) => {
    failed.add(error);
    return error;
  };
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw raise(fail(`is ${kindOf(stats)}, not a regular file: give the path of a YAML or JSON file`));
    }
    if (stats.size > limitBytes) throw raise(tooLarge(`${stats.size} bytes`));
    // Sized by what stat says, grown if the file grows while read: a large limit allocates nothing upfront.
    let buffer = Buffer.alloc(Math.min(limitBytes, stats.size) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length && buffer.length <= limitBytes) {
        const bigger = Buffer.alloc(Math.min(limitBytes + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > limitBytes) throw raise(tooLarge('more than that'));
    }
    const text = buffer.toString('utf8', 0, length);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (error) {
    if (failed.has(error as Error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw fail(`cannot be read (${code})`);
  } finally {
    closeSync(fd);
  }
}
