/**
 * A start that fails (a port in use) leaves nothing behind: exit code 1 naming the port, no simulated
 * process, no runtime file in its temporary directory or on /dev/shm, nothing listening.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MAIN } from '../helpers/sigkill-trial.ts';

let busy: Server;
let port: number;
const scratch = mkdtempSync(join(tmpdir(), 'psim-startfail-'));
before(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  port = (busy.address() as AddressInfo).port;
});
after(() => {
  busy.close();
  rmSync(scratch, { recursive: true, force: true });
});

function shmDirsOf(pid: number): string[] {
  return readdirSync('/dev/shm').filter((entry) => {
    try {
      return readFileSync(join('/dev/shm', entry, 'engine.pid'), 'utf8').startsWith(`${pid} `);
    } catch {
      return false;
    }
  });
}

for (const variable of ['METRICS_PORT', 'CONTROL_PORT']) {
  test(`${variable} in use: exit 1 naming it, and nothing left behind`, () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const run = spawnSync(process.execPath, [MAIN], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        TMPDIR: tmp,
        XDG_RUNTIME_DIR: '',
        PROFILE: 'high-cardinality',
        PROCESS_COUNT: '5',
        OTEL_METRICS_EXPORTER: 'none',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        CONTROL_PORT: '0',
        [variable]: String(port),
      },
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    assert.doesNotMatch(run.stderr, /ProcessStarted|simulation running/);
    assert.deepEqual(readdirSync(tmp), [], 'runtime files left in TMPDIR');
    assert.deepEqual(shmDirsOf(run.pid as number), [], 'control files left on /dev/shm');
  });
}
