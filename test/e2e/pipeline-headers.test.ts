/**
 * OTEL_EXPORTER_OTLP_HEADERS reaches the wire as gRPC metadata, checked by a real collector: the bundled
 * pipeline with its OTLP receiver behind the bearertokenauth extension, which refuses every export that
 * does not carry `authorization: Bearer <token>`. A simulator given the header is exported; one without
 * it, or with a wrong token, is refused (UNAUTHENTICATED) and none of its processes reach the collector.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { scrape } from '../helpers/prom-text.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 1000;
const TOKEN = 'psim-test-token-7c1e';

/** The shipped pipeline with bearer-token auth on its OTLP/gRPC receiver. */
const AUTH = [
  'extensions:',
  '  bearertokenauth/simulator:',
  `    token: ${JSON.stringify(TOKEN)}`,
  'receivers:',
  '  otlp:',
  '    protocols:',
  '      grpc:',
  '        auth:',
  '          authenticator: bearertokenauth/simulator',
  'service:',
  '  extensions: [bearertokenauth/simulator]',
  '',
].join('\n');

const pidsOn = async (url: string) =>
  new Set(
    ((await scrape(url)).get('process_threads')?.samples ?? []).map((s) => Number(s.labels.process_pid)),
  );

describe('OTEL_EXPORTER_OTLP_HEADERS against a collector that requires a bearer token', () => {
  let collector: RunningCollector;
  const simulators: TestSimulator[] = [];
  const start = async (name: string, headers: string | undefined, seed: number) => {
    const s = await startTestSimulator({
      AUTO_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
      ...(headers === undefined ? {} : { OTEL_EXPORTER_OTLP_HEADERS: headers }),
    });
    simulators.push(s);
    await runProfile(
      s.sim,
      { name, templates: [{ name: `${name}-{i}`, count: 2, priority: 'medium' }] },
      seed,
    );
    return s;
  };

  before(async () => {
    collector = await startCollector({ overrides: [AUTH] });
  });
  after(async () => {
    for (const s of simulators) await s.sim.stop();
    await collector?.stop();
  });

  test('with the header (among others) the exports are accepted; without it or with a wrong token they are refused', async () => {
    // The token beside a second header: the whole comma-separated list is parsed and sent.
    const allowed = await start('hdr-ok', `Authorization=Bearer ${TOKEN},x-scope=simulator-tests`, 1);
    const missing = await start('hdr-none', undefined, 2);
    const wrong = await start('hdr-wrong', 'Authorization=Bearer not-the-token', 3);
    const pids = (s: TestSimulator) => s.sim.engine.liveProcesses().map((p) => p.pid);
    for (const s of [allowed, missing, wrong]) assert.equal(pids(s).length, 2);

    await waitFor(
      'the allowed simulator’s processes on the collector',
      { timeoutMs: 20_000, everyMs: 250 },
      async () => {
        const seen = await pidsOn(collector.metricsUrl);
        return pids(allowed).every((pid) => seen.has(pid));
      },
    );
    for (const refused of [missing, wrong]) {
      const status = refused.sim.telemetry.exportStatus;
      await waitFor(
        'two refused exports',
        { timeoutMs: 20_000, lastSeen: () => JSON.stringify(status) },
        () => status.failed >= 2,
      );
      assert.equal(status.ok, 0, 'nothing accepted without the token');
      assert.match(String(status.lastError), /UNAUTHENTICATED/);
    }
    const allowedStatus = allowed.sim.telemetry.exportStatus;
    assert.equal(allowedStatus.failed, 0, `the allowed simulator's exports: ${allowedStatus.lastError}`);
    assert.ok(allowedStatus.ok >= 2, `accepted exports: ${allowedStatus.ok}`);
    // By the time the refused ones have failed twice, the allowed one has been exported several times
    // over: the refused processes would be there had any export of theirs got through.
    const seen = await pidsOn(collector.metricsUrl);
    for (const pid of [...pids(missing), ...pids(wrong)]) assert.equal(seen.has(pid), false, `pid ${pid}`);
    assert.match(collector.child.log(), /Everything is ready/);
  });
});
