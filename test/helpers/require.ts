/**
 * What a test needs from the machine, checked where the test starts. A missing tool or privilege fails
 * the test with its name and the package that brings it, never skips it: a skipped test reads as a pass
 * in a summary nobody opens, and the risky paths are exactly the ones that need root or a tool.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** The Debian package of each tool a test runs, for the failure message. */
const PACKAGES: Record<string, string> = {
  setpriv: 'util-linux',
  prlimit: 'util-linux',
  python3: 'python3',
  promtool: 'prometheus',
  prometheus: 'prometheus',
  'docker-compose': 'docker-compose',
  'stress-ng': 'stress-ng',
  curl: 'curl',
  cc: 'gcc',
  chrt: 'util-linux',
};

/**
 * True when any user may run `path`: the file and every directory above it are executable by others.
 * A tool under root's home (a version manager's shim in /root, mode 700) runs for root and not for the
 * `nobody` a test switches to.
 */
function runnableByOthers(path: string): boolean {
  try {
    const real = realpathSync(path);
    if ((statSync(real).mode & 0o001) === 0) return false;
    for (let dir = dirname(real); ; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

/** The absolute path of `command` on PATH, or undefined; `forOthers`: the first one any user may run. */
export function which(command: string, forOthers = false): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    if (!forOthers || runnableByOthers(path)) return path;
  }
  return undefined;
}

function find<const T extends readonly string[]>(tools: T, forOthers: boolean): { [K in keyof T]: string } {
  const found = tools.map((tool) => which(tool, forOthers));
  const missing = tools.filter((_, i) => found[i] === undefined);
  if (missing.length > 0) {
    const named = missing.map((tool) => `${tool} (Debian package ${PACKAGES[tool] ?? 'unknown'})`);
    const where = forOthers ? 'on PATH where every user may run it' : 'on PATH';
    throw new Error(`this test needs ${named.join(', ')} ${where}; PATH=${process.env.PATH}`);
  }
  return found as { [K in keyof T]: string };
}

/**
 * The absolute path of every tool, in order.
 * @throws Error naming each missing tool and its Debian package
 */
export function requireTools<const T extends readonly string[]>(...tools: T): { [K in keyof T]: string } {
  return find(tools, false);
}

/**
 * As {@link requireTools}, for tools a test runs as another user (nobody): each path is one any user
 * may execute. @throws Error naming each tool not found so
 */
export function requireToolsForOthers<const T extends readonly string[]>(
  ...tools: T
): { [K in keyof T]: string } {
  return find(tools, true);
}

/**
 * @param why what root is needed for, for the failure message
 * @throws Error when the test does not run as root
 */
export function requireRoot(why: string): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`this test needs root to ${why}; it runs as uid ${uid}`);
}
