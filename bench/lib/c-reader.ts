/** Builds bench/reader.c with the system's C compiler and runs it on a list of PIDs. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../reader.c', import.meta.url));

export interface CReaderPass {
  cpuUs: number;
  wallUs: number;
  read: number;
}

/**
 * Passes of the C reference reader over `pids`: CPU and wall time of each full pass.
 * @throws Error when a pass did not read every process's files: a pass that fails early (a process
 *   gone, EACCES on io) costs less and would flatter the reader
 */
export function runCReader(pids: readonly number[], passes: number): CReaderPass[] {
  const dir = mkdtempSync(join(tmpdir(), 'psim-bench-reader-'));
  try {
    const binary = join(dir, 'reader');
    execFileSync('cc', ['-O2', '-o', binary, SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
    const pidFile = join(dir, 'pids');
    writeFileSync(pidFile, `${pids.join('\n')}\n`);
    const output = execFileSync(binary, [pidFile, String(passes)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const results = output
      .trim()
      .split('\n')
      .map((line) => {
        const [cpuUs, wallUs, read] = line.split(' ').map(Number);
        return { cpuUs: cpuUs as number, wallUs: wallUs as number, read: read as number };
      });
    if (results.length !== passes)
      throw new Error(`the C reader printed ${results.length} of ${passes} passes`);
    for (const [i, pass] of results.entries()) {
      if (pass.read !== pids.length)
        throw new Error(`the C reader's pass ${i + 1} read ${pass.read} of ${pids.length} processes`);
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
