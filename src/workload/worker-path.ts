/**
 * Finds the program a simulated process runs.
 *
 * - `native`: build/ps-worker (see scripts/build-worker.ts). Exec it through a hard link (or copy) named
 *   after the simulated process, so the kernel sets comm from the link's name; argv is display only.
 * - `node`: src/workload/fallback-worker.js, when no native build exists. Spawn `process.execPath` with
 *   `[path, displayName, ...displayArgs]`; it sets `process.title` from those. It cannot hold fewer than
 *   ~7 threads nor less than ~40 MB RSS, so thread counts and small memory targets are not exact.
 *
 * Both take the same environment: PSIM_CONTROL_FILE, PSIM_SLOT, PSIM_PARENT_PID, optional PSIM_NAME.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Which worker program to spawn and where it is. */
export interface WorkerProgram {
  kind: 'native' | 'node';
  /** Absolute path of the native binary, or of the fallback script to run with Node. */
  path: string;
}

/** Absolute path where scripts/build-worker.ts puts the native worker. */
export const NATIVE_WORKER_PATH = fileURLToPath(new URL('../../build/ps-worker', import.meta.url));
/** Absolute path of the Node fallback worker. */
export const FALLBACK_WORKER_PATH = fileURLToPath(new URL('./fallback-worker.js', import.meta.url));

/** A regular file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The native worker if it was built and is executable, else the Node fallback. */
export function resolveWorker(): WorkerProgram {
  if (isExecutableFile(NATIVE_WORKER_PATH)) return { kind: 'native', path: NATIVE_WORKER_PATH };
  return { kind: 'node', path: FALLBACK_WORKER_PATH };
}
