/**
 * The simulator in-process for pipeline tests: loopback listeners on kernel-chosen ports, log lines
 * captured, and an optional inline profile started through the engine's public surface.
 */
import { loadConfig } from '../../src/config/config.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { createLogger } from '../../src/log.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';

export interface TestSimulator {
  readonly sim: RunningSimulator;
  /** every log line written so far */
  readonly lines: string[];
  /** /metrics of the simulator itself */
  readonly metricsUrl: string;
}

/**
 * Starts the simulator with `env` over test defaults (ports 0 on 127.0.0.1, info logs captured).
 * Pass AUTO_START: 'false' and use {@link runProfile} for an inline profile.
 */
export async function startTestSimulator(env: Record<string, string>): Promise<TestSimulator> {
  const lines: string[] = [];
  const config = loadConfig({
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_HOST: '127.0.0.1',
    CONTROL_PORT: '0',
    ...env,
  });
  const sim = await startSimulator(
    config,
    createLogger(config.logLevel, (line) => lines.push(line)),
  );
  const metricsUrl = sim.telemetry.prometheusUrl;
  if (!metricsUrl) {
    await sim.stop();
    throw new Error('the simulator serves no /metrics (METRICS_PORT unset?)');
  }
  return { sim, lines, metricsUrl };
}

/** Creates and starts a simulation of an inline profile, then samples at once so data flows. */
export async function runProfile(
  sim: RunningSimulator,
  profile: ProfileInput,
  seed = 1,
): Promise<Simulation> {
  const validated = validateProfile(profile, 'test profile');
  const simulation = sim.engine.createSimulation({
    name: `${validated.name}-${seed}`,
    profile: validated,
    seed,
    durationMs: undefined,
    chaos: false,
  });
  await sim.engine.startSimulation(simulation.id);
  await sim.sampler.sampleNow();
  return simulation;
}
