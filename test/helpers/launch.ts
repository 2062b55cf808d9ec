/**
 * How every launcher starts the engine (npm start, npm run bench, the package command's shebang, the
 * image, the chart, npm run stack); test/e2e/cli.test.ts keeps them in step with these.
 */

/**
 * V8 flags: a young generation grown to 128 MiB under churn doubled the RSS; an old generation limit
 * ~15 % above a steady heap made a full collection of every interval; and the type stripper's
 * WebAssembly compiled by V8's optimising tier held ~12 MiB of code.
 */
export const LAUNCH_FLAGS = '--max-semi-space-size=16 --heap-growing-percent=50 --liftoff-only';

/**
 * Environment read by the C library, not by the simulator: glibc's malloc with a fixed mmap threshold,
 * so that the OTLP packages' ~2 MiB copies of each request are not taken from the main heap, which the
 * small blocks that outlive them would keep from shrinking (bin/process-simulator.js says more).
 */
export const LAUNCH_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** LAUNCH_ENV as a shell's `NAME=value` words. */
export const LAUNCH_ENV_WORDS = Object.entries(LAUNCH_ENV)
  .map(([name, value]) => `${name}=${value}`)
  .join(' ');
