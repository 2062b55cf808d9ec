/**
 * uid -> user name, as the collector reports process.owner, from the passwd file of the filesystem whose
 * /proc is read. Users that exist only in a directory service are not there and are reported by number.
 */
import { readFileSync } from 'node:fs';
import { parsePasswd } from './parse.ts';

/** Returns the user name of a uid, or the uid as a string when the passwd file does not name it. */
export type OwnerLookup = (uid: number) => string;

/** Reads `passwdPath` once, on first use; a missing file means every owner is reported by number. */
export function createOwnerLookup(passwdPath: string): OwnerLookup {
  let users: Map<number, string> | undefined;
  return (uid) => {
    users ??= loadPasswd(passwdPath);
    return users.get(uid) ?? String(uid);
  };
}

function loadPasswd(passwdPath: string): Map<number, string> {
  try {
    return parsePasswd(readFileSync(passwdPath, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new Error(`Reading the user names in ${passwdPath}: ${(error as Error).message}`, { cause: error });
  }
}
