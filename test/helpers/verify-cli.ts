/**
 * `process-simulator verify` as a user runs it: a real `node src/main.ts verify ...` child, its exit
 * code, its output and, with --json, the parsed report.
 */
import { execFile } from 'node:child_process';
import type { Report } from '../../src/verify/report.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export interface VerifyRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** the report, when --json was given and it printed one */
  report: Report | undefined;
}

/** Runs `verify` with `args` and waits for it (killed after `timeoutMs`). */
export function runVerify(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<VerifyRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, 'verify', ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        let report: Report | undefined;
        if (args.includes('--json') && stdout.trim().startsWith('{')) {
          try {
            report = JSON.parse(stdout) as Report;
          } catch {
            report = undefined;
          }
        }
        resolve({ code, stdout, stderr, report });
      },
    );
  });
}

/** Every difference message of a report, one per line, for assertion messages. */
export function differences(report: Report | undefined): string {
  if (!report) return '(no report)';
  return report.checks
    .filter((check) => !check.passed)
    .flatMap((check) => [
      `${check.name}: ${check.summary}`,
      ...check.differences.map((d) => `  ${d.message}`),
    ])
    .join('\n');
}
