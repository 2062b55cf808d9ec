/**
 * What a test needs from the machine, checked where the test starts. A missing tool or privilege fails
 * the test with its name and the package that brings it, never skips it: a skipped test reads as a pass
 * in a summary nobody opens, and the risky paths are exactly the ones that need root or a tool.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

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
};

/** The absolute path of `command` on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {}
  }
  return undefined;
}

/**
 * The absolute path of every tool, in order.
 * @throws Error naming each missing tool and its Debian package
 */
export function requireTools<const T extends readonly string[]>(...tools: T): { [K in keyof T]: string } {
  const found = tools.map((tool) => which(tool));
  const missing = tools.filter((_, i) => found[i] === undefined);
  if (missing.length > 0) {
    const named = missing.map((tool) => `${tool} (Debian package ${PACKAGES[tool] ?? 'unknown'})`);
    throw new Error(`this test needs ${named.join(', ')} on PATH; none of PATH=${process.env.PATH} has it`);
  }
  return found as { [K in keyof T]: string };
}

/**
 * @param why what root is needed for, for the failure message
 * @throws Error when the test does not run as root
 */
export function requireRoot(why: string): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`this test needs root to ${why}; it runs as uid ${uid}`);
}
