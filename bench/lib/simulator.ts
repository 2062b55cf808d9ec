/**
 * The simulator inside the benchmark's own process, so that process.cpuUsage() and the process's RSS
 * are the engine's: the whole wiring of `npm start` (startSimulator), with sampling driven by the
 * benchmark instead of a timer, OTLP to the loopback sink and /metrics on an ephemeral port.
 */
import { loadConfig } from '../../src/config/config.ts';
import type { Simulation } from '../../src/engine/simulation.ts';
import { createLogger } from '../../src/log.ts';
import type { ProfileInput } from '../../src/profiles/schema.ts';
import { profileFromConfig, type RunningSimulator, startSimulator } from '../../src/simulator.ts';

export interface BenchSimulatorOptions {
  profile?: string;
  profileFile?: string;
  processCount?: number;
  otlpEndpoint: string;
  /** the sampler's own interval; the count benchmark drives samples itself @default 1 hour */
  intervalMs?: number;
  /** more environment (e.g. the OTLP sink's ports) */
  env?: Record<string, string>;
}

export async function startBenchSimulator(
  options: BenchSimulatorOptions,
): Promise<{ simulator: RunningSimulator; create(seed?: number): Simulation }> {
  const env: Record<string, string> = {
    PROFILE: options.profile ?? 'high-cardinality',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_PORT: '0',
    AUTO_START: 'false',
    LOG_LEVEL: 'warn',
    MAX_PROCESSES: String(Math.max(12_000, options.processCount ?? 0)),
    OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
    OTEL_METRIC_EXPORT_INTERVAL: String(options.intervalMs ?? 3_600_000),
  };
  if (options.processCount !== undefined) env.PROCESS_COUNT = String(options.processCount);
  if (options.profileFile) env.PROFILE_FILE = options.profileFile;
  Object.assign(env, options.env);
  const config = loadConfig(env);
  const simulator = await startSimulator(config, createLogger('warn'));
  const profile = profileFromConfig(config);
  return {
    simulator,
    create: (seed = 1) =>
      simulator.engine.createSimulation({
        name: `bench-${profile.name}`,
        profile,
        seed,
        durationMs: undefined,
        chaos: false,
      }),
  };
}

export type { ProfileInput };
