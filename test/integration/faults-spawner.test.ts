import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { requireTools } from '../helpers/require.ts';

const PROBE = join(import.meta.dirname, '..', 'fixtures', 'faults', 'spawn-at-fd-limit.ts');

function probe(
  kind: 'execa' | 'node' | 'launcher',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [prlimit] = requireTools('prlimit');
  return new Promise((resolve) => {
    execFile(
      prlimit,
      ['--nofile=64:64', '--', process.execPath, PROBE, kind],
      { timeout: 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('spawners at the file descriptor limit (EMFILE)', () => {
  for (const kind of ['node', 'execa', 'launcher'] as const) {
    it(`${kind}: a spawn with no free fd rejects with a SpawnError and the next one works`, async () => {
      const run = await probe(kind);
      assert.equal(run.code, 0, `the probe process crashed:\n${run.stderr}`);
      const result = JSON.parse(run.stdout.trim()) as {
        held: number;
        atLimit: { ok: boolean; code?: string; isSpawnError?: boolean; message?: string };
        after: { pid: number; signal: string };
      };
      assert.ok(result.held > 0);
      assert.equal(result.atLimit.ok, false, 'a spawn succeeded with every fd taken');
      assert.equal(result.atLimit.isSpawnError, true, result.atLimit.message);
      assert.equal(result.atLimit.code, 'EMFILE', result.atLimit.message);
      assert.match(result.atLimit.message ?? '', /fd-limit-probe/);
      assert.equal(result.after.signal, 'SIGKILL');
    });
  }
});
