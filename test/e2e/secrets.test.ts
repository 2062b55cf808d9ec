/**
 * Secrets stay secret in a running simulator and on the command line: with OTLP headers and a token
 * set and exports failing, neither /info nor any log line nor any error answer carries them; an
 * endpoint with credentials stops `npm start` (exit 2) without printing them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';
import { type ApiSimulator, call, startApiSimulator } from './api-helpers.ts';

const exec = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const HEADER_SECRET = 'HdrS3cr3t-value-0123';
const TOKEN = 'ApiT0ken-value-456789';

describe('a running simulator with secrets', () => {
  let s: ApiSimulator;
  before(async () => {
    // nothing listens on this port: every export fails, and its error is reported in /info and the log
    const closed = await freePort();
    s = await startApiSimulator({
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${HEADER_SECRET},x-tenant=${HEADER_SECRET}`,
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'debug',
    });
  });
  after(async () => {
    await s.stop();
  });

  test('/info, the log and error answers show neither the headers nor the token', async () => {
    const info = await waitFor('a failed export in /info', { timeoutMs: 30_000 }, async () => {
      const body = (await call(s.url, 'GET', '/info')).body;
      return body.exporters.otlp.exports_failed > 0 && body;
    });
    assert.ok(info.exporters.otlp.last_error, 'the failure is reported');
    const answers = [
      JSON.stringify(info),
      JSON.stringify((await call(s.url, 'GET', '/openapi.json')).body),
      JSON.stringify(
        (await call(s.url, 'POST', '/api/v1/simulations', {}, { authorization: 'Bearer wrong' })).body,
      ),
      JSON.stringify(
        (await call(s.url, 'POST', '/api/v1/simulations', {}, { authorization: `Bearer ${TOKEN}` })).body,
      ),
    ];
    await waitFor('the export failure in the log', { timeoutMs: 30_000 }, () =>
      s.lines.some((line) => /OTLP export failing/.test(line)),
    );
    for (const text of [...answers, ...s.lines]) {
      assert.ok(!text.includes(HEADER_SECRET), `a header value leaked: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(TOKEN), `the token leaked: ${text.slice(0, 300)}`);
    }
  });
});

test('an endpoint with credentials stops the start with exit code 2, printing none of them', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('http://', 'https://', ''),
      fc.constantFrom('u:PW', 'PW', ':PW', 'u:P@W', 'u%40x:PW%3A'),
      fc.constantFrom('collector:4317', '127.0.0.1:4317', '[::1]:4317'),
      async (scheme, info, host) => {
        const secret = info.replaceAll('PW', 'Cr3dS3cret');
        let code: number | null = 0;
        let output = '';
        try {
          await exec(process.execPath, ['src/main.ts'], {
            cwd: ROOT,
            timeout: 60_000,
            env: {
              PATH: process.env.PATH ?? '',
              OTEL_EXPORTER_OTLP_ENDPOINT: `${scheme}${secret}@${host}`,
              AUTO_START: 'false',
              CONTROL_PORT: '0',
              METRICS_PORT: '0',
            },
          });
        } catch (error) {
          const failed = error as { code: number | null; stdout: string; stderr: string };
          code = failed.code;
          output = failed.stdout + failed.stderr;
        }
        assert.equal(code, 2, output);
        assert.match(output, /OTEL_EXPORTER_OTLP_ENDPOINT: expected no user info/);
        assert.match(output, /\*\*\*@/);
        assert.ok(!output.includes('Cr3dS3cret'), output);
      },
    ),
    { numRuns: 12 },
  );
});
