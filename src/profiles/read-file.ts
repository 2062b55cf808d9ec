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

const tooLarge = (path: string, size: string, kind: string) =>
  new ProfileFileError(
    path,
    `is larger than ${PROFILE_FILE_LIMIT_TEXT} (${MAX_PROFILE_FILE_BYTES} bytes), the limit for ${kind}s: it has ${size}`,
    '',
    kind,
  );

/**
 * The text of the profile file at `path` (UTF-8, a leading byte-order mark dropped).
 * @param kind what the file is, in messages @default 'profile file'
 * @throws ProfileFileError naming the path and the reason: missing, not a regular file, over the limit
 */
export function readProfileText(path: string, kind = 'profile file'): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ProfileFileError(path, `cannot be opened (${code})`, '', kind);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new ProfileFileError(
        path,
        `is ${kindOf(stats)}, not a regular file: give the path of a YAML or JSON file`,
        '',
        kind,
      );
    }
    if (stats.size > MAX_PROFILE_FILE_BYTES) throw tooLarge(path, `${stats.size} bytes`, kind);
    const buffer = Buffer.alloc(MAX_PROFILE_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_PROFILE_FILE_BYTES) throw tooLarge(path, `more than that`, kind);
    }
    const text = buffer.toString('utf8', 0, length);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (error) {
    if (error instanceof ProfileFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ProfileFileError(path, `cannot be read (${code})`, '', kind);
  } finally {
    closeSync(fd);
  }
}
