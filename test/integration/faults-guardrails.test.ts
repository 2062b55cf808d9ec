import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAIN } from '../helpers/sigkill-trial.ts';

const dir = mkdtempSync(join(tmpdir(), 'psim-guardrails-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stderr: string;
}

/** Runs `node src/main.ts` (optionally under prlimit) and returns how it ended; never hangs past 30 s. */
function runSimulator(env: Record<string, string>, prefix: string[] = []): Promise<Run> {
  const [command, ...args] = [...prefix, process.execPath, MAIN];
  return new Promise((resolve) => {
    execFile(
      command as string,
      args,
      {
        env: {
          ...process.env,
          METRICS_HOST: '127.0.0.1',
          METRICS_PORT: '0',
          CONTROL_PORT: '0',
          OTEL_METRICS_EXPORTER: 'none',
          ...env,
        },
        timeout: 30_000,
        killSignal: 'SIGKILL',
      },
      (error, _stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

function memAvailableMiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024;
}

describe('guardrails: a run the machine or the cap cannot hold is refused before any spawn', () => {
  it('refuses PROCESS_COUNT above MAX_PROCESSES, naming the cap and its value', async () => {
    const run = await runSimulator({ PROFILE: 'high-cardinality', PROCESS_COUNT: '50', MAX_PROCESSES: '20' });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /MAX_PROCESSES\D*20\b/);
    assert.doesNotMatch(run.stderr, /process-simulator ready[\s\S]*simulation running/);
  });

  it('refuses more tasks than kernel.pid_max allows, naming pid_max and its value', async () => {
    const pidMax = readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim();
    const count = Math.min(100_000, Number(pidMax) + 1000);
    const run = await runSimulator({
      PROFILE: 'high-cardinality',
      PROCESS_COUNT: String(count),
      MAX_PROCESSES: '100000',
    });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`pid_max\\D*${pidMax}\\b`));
  });

  it('refuses more tasks than ulimit -u allows, naming the limit and its value', async () => {
    const run = await runSimulator({ PROFILE: 'high-cardinality', PROCESS_COUNT: '2000' }, [
      'prlimit',
      '--nproc=1500:1500',
      '--',
    ]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /ulimit -u\D*1500\b/);
  });

  it('refuses a profile whose memory exceeds MemAvailable, naming it and its value', async () => {
    const perProcessMiB = Math.ceil(memAvailableMiB() / 4);
    const profile = join(dir, 'too-big.json');
    writeFileSync(
      profile,
      JSON.stringify({
        name: 'too-big',
        templates: [{ name: 'hog-{i}', count: 8, priority: 'low', memory: perProcessMiB }],
      }),
    );
    const run = await runSimulator({ PROFILE_FILE: profile });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /MemAvailable=\d+ MiB/);
  });
});
