/**
 * Writes what the Helm chart needs to know of the simulator and cannot compute itself, since Helm
 * cannot run this code:
 * - charts/process-simulator/profiles.yaml: every built-in profile's demand, template by template
 *   (src/profiles/demand.ts), so the chart derives a shard's memory, CPU and tasks from it;
 * - three definitions of charts/process-simulator/values.schema.json: the built-in profile names,
 *   the inline profile's JSON Schema (from the zod schema the simulator validates profiles with) and
 *   the environment names `extraEnv` may set (ENV_VARS less those the chart sets itself).
 *
 *   node scripts/chart-profiles.ts          # writes both files
 *   node scripts/chart-profiles.ts --check  # exits 1 naming the stale file (a test runs this)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ENV_VARS, type EnvVarName } from '../src/config/defaults.ts';
import { DEFAULT_CHAOS } from '../src/engine/chaos.ts';
import { BUILTIN_PROFILES, PROFILE_ALIASES } from '../src/profiles/builtin.ts';
import { profileDemand, SPAWN_CPU_MS, templateDemand, WORKER_FLOOR_MIB } from '../src/profiles/demand.ts';
import { builtinProfile } from '../src/profiles/load.ts';
import { type ChaosSettings, profileSchema } from '../src/profiles/schema.ts';

const root = join(import.meta.dirname, '..');
export const CHART_DIR = join(root, 'charts', 'process-simulator');
export const PROFILES_FILE = join(CHART_DIR, 'profiles.yaml');
export const SCHEMA_FILE = join(CHART_DIR, 'values.schema.json');

/**
 * Variables the chart's templates set from their own values (or the Job controller sets); `extraEnv`
 * may not set them a second time. Every other name of ENV_VARS is open to `extraEnv`.
 */
export const CHART_OWNED_ENV: readonly EnvVarName[] = [
  'PROFILE',
  'PROFILE_FILE',
  'PROCESS_COUNT',
  'DURATION',
  'SEED',
  'AUTO_START',
  'ENABLE_CHAOS',
  'SHARD_INDEX',
  'SHARD_COUNT',
  'JOB_COMPLETION_INDEX',
  'START_AT',
  'LINGER',
  'API_TOKEN',
  // The chart always sets a token: an unauthenticated API beyond loopback is not offered.
  'API_ALLOW_UNAUTHENTICATED',
  'ALLOWED_HOSTS',
  'METRICS_PORT',
  'METRICS_HOST',
  'CONTROL_PORT',
  'CONTROL_HOST',
  'SIMULATION_ATTRIBUTES',
  'OPTIONAL_METRICS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'OTEL_METRICS_EXPORTER',
  'OTEL_RESOURCE_ATTRIBUTES',
  'LOG_LEVEL',
];

/** The simulator's duration grammar (src/profiles/units.ts parseDuration) as a JSON Schema pattern. */
export const DURATION_PATTERN = '^\\s*([0-9]+(\\.[0-9]+)?|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+)\\s*$';

const MIB = 2 ** 20;

/** Chaos settings in the units the chart's arithmetic uses (minutes, percent, MiB). */
function chaosRates(settings: ChaosSettings) {
  return {
    spikesPerMinute: settings.spikes_per_minute,
    spikePercent: settings.spike_percent,
    spikeMinutes: settings.spike_duration / 60_000,
    leaksPerMinute: settings.leaks_per_minute,
    leakMiBPerMinute: settings.leak_mib_per_minute,
    leakMinutes: settings.leak_duration / 60_000,
  };
}

/** The built-in profiles' demand as the chart reads it. */
export function profilesTable(): Record<string, unknown> {
  const profiles: Record<string, unknown> = {};
  for (const name of Object.keys(BUILTIN_PROFILES)) {
    const profile = builtinProfile(name);
    const demand = profileDemand(profile);
    profiles[name] = {
      description: profile.description,
      // A process of another user needs the simulator to run as root, which the chart's pods never do.
      needsRoot: profile.templates.some((t) => t.count > 0 && t.quirks?.user !== undefined),
      chaos: profile.chaos ? chaosRates(profile.chaos) : null,
      demand: {
        processes: demand.processes,
        threads: demand.threads,
        fds: demand.fds,
        memoryMiB: demand.memoryBytes / MIB,
        cpuPercent: demand.cpuPercent,
      },
      // Per process: the chart multiplies by each shard's share of the template.
      templates: profile.templates.map((template) => {
        const one = templateDemand({ ...template, count: 1 });
        return {
          name: template.name,
          count: template.count,
          memoryMiB: one.memoryBytes / MIB,
          threads: template.threads,
          fds: template.fds,
          cpuPercent: one.cpuPercent,
        };
      }),
    };
  }
  return {
    constants: { workerFloorMiB: WORKER_FLOOR_MIB, spawnCpuMs: SPAWN_CPU_MS },
    defaultChaos: chaosRates(DEFAULT_CHAOS),
    aliases: { ...PROFILE_ALIASES },
    profiles,
  };
}

const PROFILES_HEADER = `# Written by scripts/chart-profiles.ts from src/profiles (builtin.ts, demand.ts) and
# src/engine/chaos.ts: do not edit; run \`node scripts/chart-profiles.ts\` after changing a profile.
# Per template and per process: memoryMiB at its peak (at least the worker's floor), threads, fds,
# and cpuPercent of one core on average, spawning included. demand: the whole profile (profileDemand).
`;

export function profilesYaml(): string {
  return PROFILES_HEADER + stringify(profilesTable(), { lineWidth: 0 });
}

/** True for the JSON Schema zod writes for a profile duration: a string up to 64 long, or a number. */
function isDurationNode(node: unknown): boolean {
  const anyOf = (node as { anyOf?: unknown[] } | null)?.anyOf;
  return (
    Array.isArray(anyOf) &&
    anyOf.length === 2 &&
    JSON.stringify(anyOf[0]) === JSON.stringify({ type: 'string', maxLength: 64 }) &&
    JSON.stringify(anyOf[1]) === JSON.stringify({ type: 'number' })
  );
}

/**
 * zod's schema leaves a duration as any short string: here it gets the grammar the simulator parses,
 * so the chart refuses "10 minutes" before a pod does.
 */
function withDurations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withDurations);
  if (node === null || typeof node !== 'object') return node;
  if (isDurationNode(node)) {
    const { anyOf: _, ...rest } = node as Record<string, unknown>;
    return { ...rest, $ref: '#/$defs/profileDuration' };
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withDurations(value)]));
}

/** JSON Schema of a profile argument: zod's refine (no control characters) is not carried over by itself. */
function withPrintableArgs(profile: Record<string, unknown>): Record<string, unknown> {
  const path = ['properties', 'templates', 'items', 'properties', 'args', 'items'];
  const items = path.reduce<unknown>(
    (node, key) => (node as Record<string, unknown> | undefined)?.[key],
    profile,
  ) as Record<string, unknown> | undefined;
  if (items?.type !== 'string') throw new Error('the profile schema has no args strings any more');
  items.pattern = '^[^\\x00-\\x1f\\x7f]*$';
  items.description = 'printable text: control characters (NUL, newline, tab, escape...) are refused';
  return profile;
}

/** The generated definitions of values.schema.json. */
export function schemaDefinitions(): Record<string, unknown> {
  const { $schema: _, ...input } = z.toJSONSchema(profileSchema, { io: 'input', unrepresentable: 'any' });
  const profile = withPrintableArgs(input);
  const owned = new Set<string>(CHART_OWNED_ENV);
  return {
    builtinProfileName: {
      description: 'a built-in profile',
      enum: [...Object.keys(BUILTIN_PROFILES), ...Object.keys(PROFILE_ALIASES)],
    },
    extraEnvName: {
      description: 'a simulator setting the chart does not set itself',
      enum: Object.keys(ENV_VARS).filter((name) => !owned.has(name)),
    },
    profileDuration: {
      description: 'a duration such as 90s, 10m, 1h30m, 250ms, or a number of seconds',
      anyOf: [
        { type: 'string', maxLength: 64, pattern: DURATION_PATTERN },
        { type: 'number', minimum: 0 },
      ],
    },
    profile: withDurations(profile),
  };
}

/** values.schema.json with its generated definitions brought up to date; the rest is kept as written. */
export function schemaJson(current: string): string {
  const schema = JSON.parse(current) as { $defs?: Record<string, unknown> };
  schema.$defs = { ...schema.$defs, ...schemaDefinitions() };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const targets = [
    { file: PROFILES_FILE, wanted: () => profilesYaml() },
    { file: SCHEMA_FILE, wanted: (current: string) => schemaJson(current) },
  ];
  let stale = 0;
  for (const { file, wanted } of targets) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch (error) {
      if (file === SCHEMA_FILE) throw error;
    }
    const text = wanted(current);
    if (text === current) continue;
    if (check) {
      process.stderr.write(
        `chart-profiles: ${relative(root, file)} is stale; run node scripts/chart-profiles.ts\n`,
      );
      stale++;
    } else {
      writeFileSync(file, text);
      process.stdout.write(`chart-profiles: wrote ${relative(root, file)}\n`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
