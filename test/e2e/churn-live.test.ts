/**
 * Churn at the default 10 s interval, where a new process used to wait up to an interval for its first
 * reading while an exit left at once (the live processes on /metrics undercounted /results by a third):
 * - at every sample, and every half second in between, the live processes on /metrics are exactly those
 *   the engine runs (GET /processes, /results): a scrape reads the processes started since the last
 *   reading before it answers, and an exit leaves at once. The only tolerance is for what changes while
 *   the check runs (it reads /processes, then /metrics, then /processes again): a process that starts or
 *   exits between the requests, each one named;
 * - a new process is also read within about a second without any scrape (100 ms after the first start
 *   of a gathered pass, one pass per second at most): every process that lived longer than that window
 *   (with 2 s of slack for a busy machine) was read before its end;
 * - every process the engine ended was read right before its end, and that final reading reached the
 *   OTLP receiver (a real gRPC sink), short jobs included;
 * - the ground truth (GET /exits) says per process whether and when it was read.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TimedEvent } from '../../src/engine/events.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { type OtlpSink, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { parsePrometheusText } from '../helpers/prom-text.ts';
import { samplesOf } from '../helpers/series.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { sleep } from '../helpers/wait.ts';

const INTERVAL_MS = 10_000;
/** How long the churn is watched: three samples and the passes between them. */
const WATCH_MS = 32_000;
/** A new process's wait for its first reading: 100 ms delay + 1 s gap + the pass, with slack for the pass and a busy machine. */
const NEW_WINDOW_MS = 1500;

const PROFILE = {
  name: 'churn-live',
  templates: [
    { name: 'anchor', count: 1, priority: 'critical' as const },
    // 24 jobs living 1-5 s: about 8 starts and exits a second
    {
      name: 'job-{i}-{g}',
      count: 24,
      priority: 'low' as const,
      cpu: 2,
      lifetime: { min: '1s', max: '5s' },
      restart: 'always' as const,
    },
    // short jobs the old sampling missed entirely: about 6 a second
    {
      name: 'short-{i}-{g}',
      count: 2,
      priority: 'low' as const,
      cpu: 20,
      lifetime: '300ms',
      restart: 'always' as const,
    },
  ],
};

let simulator: TestSimulator;
let sink: OtlpSink;
let simulation: Simulation;
const events: Array<TimedEvent & { atMs: number }> = [];
/** PIDs with a cpu.time point in any OTLP request, and the latest point time seen per PID. */
const exported = new Map<number, number>();

before(async () => {
  sink = await startOtlpSink({ keep: 20 });
  sink.onRequest(({ request }) => {
    for (const point of pointsOf(request, 'process.cpu.time')) {
      const pid = point.attributes['process.pid'] as number;
      const time = Number(BigInt(point.point.time_unix_nano) / 1_000_000n);
      exported.set(pid, Math.max(exported.get(pid) ?? 0, time));
    }
  });
  simulator = await startTestSimulator({
    AUTO_START: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
  });
  simulator.sim.engine.events.subscribe((event) => events.push({ ...event, atMs: Date.now() }));
});

after(async () => {
  await simulator?.sim.stop();
  await sink?.close();
});

/** Live PIDs of the simulation through the API. */
async function livePids(api: string, id: string): Promise<Set<number>> {
  const body = (await (await fetch(`${api}/api/v1/simulations/${id}/processes`)).json()) as {
    processes: Array<{ pid: number }>;
  };
  return new Set(body.processes.map((p) => p.pid));
}

async function metricsPids(url: string): Promise<Set<number>> {
  const families = parsePrometheusText(await (await fetch(url)).text());
  return new Set(samplesOf(families, 'process_threads').map((s) => Number(s.labels.process_pid)));
}

test('live processes on /metrics are those of /results at every sample and in between', async (t) => {
  const { sim, metricsUrl } = simulator;
  const api = sim.api.url;
  simulation = await runProfile(sim, PROFILE, 11);
  const startedAt = (pid: number) =>
    events.find((e) => e.type === 'ProcessStarted' && e.pid === pid)?.atMs ?? Number.NaN;
  const exitedAt = (pid: number) =>
    events.find((e) => e.type === 'ProcessExited' && e.pid === pid)?.atMs ?? Number.NaN;
  const problems: string[] = [];
  const counts: Array<{ results: number; metrics: number; waiting: number }> = [];
  let samples = 0;
  let checks = 0;

  // At each sample (in-process, the moment it is published): the snapshot against the engine's live set.
  const off = (() => {
    let active = true;
    sim.store.onPublish((snapshot) => {
      if (!active) return;
      samples++;
      const now = Date.now();
      for (const info of sim.engine.liveProcesses()) {
        if (snapshot.processes.has(info.pid)) continue;
        if (now - info.startedAtMs > NEW_WINDOW_MS)
          problems.push(
            `sample: pid ${info.pid} (${info.name}) live ${now - info.startedAtMs} ms, not in it`,
          );
      }
    });
    return () => {
      active = false;
    };
  })();

  const until = Date.now() + WATCH_MS;
  while (Date.now() < until) {
    const from = Date.now();
    const before = await livePids(api, simulation.id);
    const results = (await (await fetch(`${api}/api/v1/simulations/${simulation.id}/results`)).json()) as {
      processes: { live: { total: number } };
    };
    const onMetrics = await metricsPids(metricsUrl);
    const afterPids = await livePids(api, simulation.id);
    const to = Date.now();
    checks++;
    // Live through the whole check: on /metrics, whatever its age.
    let waiting = 0;
    for (const pid of before) {
      if (!afterPids.has(pid) || onMetrics.has(pid)) continue;
      waiting++;
      problems.push(`pid ${pid} live for ${to - startedAt(pid)} ms and not on /metrics`);
    }
    // Live at one look only: it started or exited during the check (the tolerance), nothing else.
    for (const pid of [...before, ...afterPids]) {
      if (before.has(pid) && afterPids.has(pid)) continue;
      const changed = startedAt(pid) >= from - 50 || exitedAt(pid) <= to + 50;
      if (!changed) problems.push(`pid ${pid} live at one look only, neither started nor exited meanwhile`);
    }
    // On /metrics and live at neither look: a short life that began and ended within the check.
    for (const pid of onMetrics) {
      if (before.has(pid) || afterPids.has(pid)) continue;
      const began = startedAt(pid);
      const ended = exitedAt(pid);
      if (!(began >= from - 50 && ended <= to + 50))
        problems.push(
          `pid ${pid} on /metrics, not live (started ${began - from} ms, exited ${ended - from} ms)`,
        );
    }
    counts.push({ results: results.processes.live.total, metrics: onMetrics.size, waiting });
    await sleep(500);
  }
  off();
  const worst = counts.reduce((w, c) => Math.max(w, c.results - c.metrics), 0);
  const mean = counts.reduce((sum, c) => sum + c.results, 0) / counts.length;
  const differing = counts.filter((c) => c.results !== c.metrics).length;
  t.diagnostic(
    `${checks} checks, ${samples} samples; live ~${mean.toFixed(0)}; /results and /metrics counts differ in ${differing} checks (by ${worst} at worst)`,
  );
  assert.ok(samples >= 3 && checks >= 30, `${samples} samples, ${checks} checks`);
  assert.ok(simulation.exitSampling.sampled + simulation.exitSampling.neverSampled >= 100, 'churn ran');
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
});

test('every process the engine ended was read right before its end, and that reading was exported', async (t) => {
  const { sim } = simulator;
  const api = sim.api.url;
  await sim.engine.stopSimulation(simulation.id);
  // the next sample publishes the last final readings; its export carries them
  await sim.sampler.sampleNow();
  await sim.telemetry.exportNow();
  const body = (await (await fetch(`${api}/api/v1/simulations/${simulation.id}/exits`)).json()) as {
    total: number;
    exits: Array<{
      pid: number;
      name: string;
      reason: string;
      started_at: string;
      exited_at: string;
      samples: number;
      first_sampled_at: string | null;
      last_sampled_at: string | null;
      final_reading: boolean;
    }>;
  };
  const results = (await (await fetch(`${api}/api/v1/simulations/${simulation.id}/results`)).json()) as {
    processes: { sampling: Record<string, number> };
  };
  assert.equal(body.exits.length, Math.min(body.total, 1000));
  const problems: string[] = [];
  let seenBeforeEnd = 0;
  let short = 0;
  let shortSeenBeforeEnd = 0;
  for (const exit of body.exits) {
    const name = `${exit.pid} (${exit.name}, ${exit.reason})`;
    if (!exit.final_reading || exit.samples < 1) problems.push(`${name}: no final reading`);
    const last = Date.parse(exit.last_sampled_at ?? '');
    if (!(last <= Date.parse(exit.exited_at))) problems.push(`${name}: last reading after the exit`);
    // the final reading reached the OTLP receiver, with its own time (nanoseconds decoded into a
    // JavaScript number lose up to a millisecond)
    const at = exported.get(exit.pid) ?? 0;
    if (Math.abs(at - last) > 1) problems.push(`${name}: exported up to ${at}, last read ${last}`);
    const life = Date.parse(exit.exited_at) - Date.parse(exit.started_at);
    if (exit.samples >= 2) seenBeforeEnd++;
    else if (life > NEW_WINDOW_MS + 2000) problems.push(`${name}: lived ${life} ms, read only at its end`);
    if (exit.name.startsWith('short-')) {
      short++;
      if (exit.samples >= 2) shortSeenBeforeEnd++;
    }
  }
  t.diagnostic(
    `${body.exits.length} exits listed of ${body.total}; read before their end: ${seenBeforeEnd}; 300 ms jobs ${short}, of which read before their end ${shortSeenBeforeEnd}; /results sampling ${JSON.stringify(results.processes.sampling)}`,
  );
  assert.ok(short >= 20, `${short} short jobs`);
  assert.equal(results.processes.sampling.exited_never_sampled, 0);
  assert.equal(results.processes.sampling.exited_with_final_reading, body.total);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
});
