/**
 * A process that lives 300 ms, at the default 10 s interval: it shows on /metrics while it lives, its
 * last counters are read right before the engine ends it and reach the OTLP receiver (a real gRPC
 * sink), and the ground truth says so. One that nobody scrapes is still read by the new-process pass
 * before its end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { validateProfile } from '../../src/profiles/load.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';
import { favour } from '../helpers/cpu-share.ts';
import { type OtlpSink, pointsOf, startOtlpSink } from '../helpers/otlp-sink.ts';
import { CLOCK_TICKS } from '../helpers/proc.ts';
import { parsePrometheusText } from '../helpers/prom-text.ts';
import { samplesOf } from '../helpers/series.ts';
import { startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

let simulator: TestSimulator;
let sink: OtlpSink;

before(async () => {
  sink = await startOtlpSink({ keep: 50 });
  simulator = await startTestSimulator({
    AUTO_START: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_METRIC_EXPORT_INTERVAL: '10000',
  });
});

after(async () => {
  await simulator?.sim.stop();
  await sink?.close();
});

interface ExitView {
  pid: number;
  name: string;
  samples: number;
  first_sampled_at: string | null;
  last_sampled_at: string | null;
  final_reading: boolean;
}

/** Starts a profile without the sample runProfile takes after it: only the sampler's own passes read it. */
async function start(profile: ProfileInput, seed: number) {
  const { engine } = simulator.sim;
  const simulation = engine.createSimulation({
    name: `${profile.name}-${seed}`,
    profile: validateProfile(profile),
    seed,
    durationMs: undefined,
    chaos: false,
  });
  await engine.startSimulation(simulation.id);
  return simulation;
}

async function exitsOf(id: string): Promise<ExitView[]> {
  const url = `${simulator.sim.api.url}/api/v1/simulations/${id}/exits`;
  return ((await (await fetch(url)).json()) as { exits: ExitView[] }).exits;
}

/** utime + stime of a live process, seconds; undefined once it is gone or a zombie. */
function cpuOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

test('a process living 300 ms shows on /metrics and its last counters are read at its end', async (t) => {
  const { sim, metricsUrl } = simulator;
  const profile = {
    name: 'short-lived',
    templates: [
      { name: 'anchor', count: 1, priority: 'critical' as const },
      {
        name: 'blip',
        count: 1,
        priority: 'low' as const,
        cpu: 50,
        lifetime: '300ms',
        restart: 'never' as const,
      },
    ],
  };
  const simulation = await start(profile, 3);
  const blip = sim.engine.processesOf(simulation.id).find((p) => p.name === 'blip');
  assert.ok(blip, 'blip started');
  // the machine's load hardly delays it: it burns what it asks for, and the counters move
  favour(blip.pid);
  let onMetrics = false;
  /** what the test read of it in /proc, with when */
  const seen: Array<{ atMs: number; cpu: number }> = [];
  for (let i = 0; i < 250; i++) {
    const atMs = Date.now();
    const cpu = cpuOf(blip.pid);
    if (cpu === undefined) break;
    seen.push({ atMs, cpu });
    const families = parsePrometheusText(await (await fetch(metricsUrl)).text());
    if (samplesOf(families, 'process_threads').some((s) => Number(s.labels.process_pid) === blip.pid)) {
      onMetrics = true;
    }
    await sleep(20);
  }
  assert.ok(onMetrics, 'on /metrics while it lived');
  const exit = await waitFor('its exit recorded', { timeoutMs: 5000 }, async () =>
    (await exitsOf(simulation.id)).find((e) => e.pid === blip.pid),
  );
  assert.equal(exit.final_reading, true);
  assert.ok(exit.samples >= 2, `${exit.samples} readings: one while it lived, one at its end`);
  // the next sample publishes the final reading, its export carries it
  await sim.sampler.sampleNow();
  await sim.telemetry.exportNow();
  const points = sink.requests.flatMap(({ request }) =>
    pointsOf(request, 'process.cpu.time').filter((p) => p.attributes['process.pid'] === blip.pid),
  );
  const last = Date.parse(exit.last_sampled_at ?? '');
  const final = points.filter((p) => Math.abs(Number(p.point.time_unix_nano) / 1e6 - last) <= 1);
  assert.equal(final.length, 3, 'user, system and wait at the time of the final reading');
  const finalCpu = final.filter((p) => p.attributes.state !== 'wait').reduce((sum, p) => sum + p.value, 0);
  // The final reading is taken as the engine ends it, at its lifetime, not earlier...
  assert.ok(
    last >= blip.startedAtMs + 290,
    `final reading ${last - blip.startedAtMs} ms after the start, before the 300 ms lifetime ended`,
  );
  // ...and holds all the CPU this test saw in /proc before it (a tick of rounding at most). The process
  // may burn a little more between that reading and its death (the kill goes through the launcher, a
  // few ms later, more on a busy machine): what the test saw after the reading is not compared.
  const before = seen.filter((s) => s.atMs <= last);
  const observed = Math.max(0, ...before.map((s) => s.cpu));
  t.diagnostic(
    `final reading ${finalCpu} s of CPU; seen by the test before it: ${observed} s (${before.length} of ${seen.length} reads), at its last read: ${seen.at(-1)?.cpu} s`,
  );
  assert.ok(before.length > 0, 'the test read it before its final reading');
  assert.ok(finalCpu >= observed - 1 / CLOCK_TICKS, `final ${finalCpu} s, observed ${observed} s`);
  await sim.engine.stopSimulation(simulation.id);
});

test('a short process that nobody scrapes is still read before its end', async () => {
  const { sim } = simulator;
  // A new process is read within about a second of its start (one pass of new processes at most once
  // a second, 100 ms after a start at the soonest): a process of 800 ms, started less than a second
  // after the pass of the previous test's processes, ended before its first reading. 1.5 s is short and
  // inside that promise.
  const profile = {
    name: 'short-quiet',
    templates: [
      { name: 'quiet', count: 1, priority: 'low' as const, lifetime: '1500ms', restart: 'never' as const },
    ],
  };
  const simulation = await start(profile, 4);
  const exit = await waitFor('its exit recorded', { timeoutMs: 10_000 }, async () =>
    (await exitsOf(simulation.id)).find((e) => e.name === 'quiet'),
  );
  assert.equal(exit.final_reading, true);
  assert.ok(exit.samples >= 2, `read ${exit.samples} times: within its first second and at its end`);
  assert.ok(Date.parse(exit.first_sampled_at ?? '') < Date.parse(exit.last_sampled_at ?? ''));
  await sim.engine.stopSimulation(simulation.id);
});
