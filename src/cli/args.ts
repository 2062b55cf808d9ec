/**
 * Command-line parsing. Flags are another way to set the documented environment variables, so the
 * CLI and `npm start` with env vars share one validated path (src/config).
 */
import { parseArgs } from 'node:util';
import type { VerifyFlags } from './verify.ts';

export type Command = 'run' | 'profiles' | 'plan' | 'verify' | 'help';

export interface ParsedArgs {
  command: Command;
  /** the command the help is about */
  helpFor: Command | undefined;
  /** environment overrides from the flags */
  env: Record<string, string>;
  json: boolean;
  /** the flags of `verify` */
  verify: VerifyFlags;
}

/** flag -> environment variable it sets */
export const FLAG_ENV = {
  profile: 'PROFILE',
  'profile-file': 'PROFILE_FILE',
  processes: 'PROCESS_COUNT',
  duration: 'DURATION',
  seed: 'SEED',
  'metrics-port': 'METRICS_PORT',
  'control-port': 'CONTROL_PORT',
  'otlp-endpoint': 'OTEL_EXPORTER_OTLP_ENDPOINT',
  interval: 'OTEL_METRIC_EXPORT_INTERVAL',
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const COMMANDS: readonly Command[] = ['run', 'profiles', 'plan', 'verify', 'help'];

/** Flags only `verify` takes (it talks to a running simulator, so the run flags mean nothing to it). */
const VERIFY_FLAGS = [
  'simulator',
  'simulation',
  'prometheus',
  'selector',
  'otlp-sink',
  'expectations',
  'wait',
  'junit',
] as const;

/**
 * @throws UsageError naming the unknown command or flag
 */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [first, ...rest] = parsed.positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (first !== undefined && !COMMANDS.includes(first as Command)) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}; expected one of ${COMMANDS.join(', ')}`);
  }
  const command = (first ?? 'run') as Command;
  const env: Record<string, string> = {};
  for (const [flag, variable] of Object.entries(FLAG_ENV)) {
    const value = parsed.values[flag as keyof typeof FLAG_ENV];
    if (typeof value === 'string') env[variable] = value;
  }
  if (parsed.values.chaos) env.ENABLE_CHAOS = 'true';
  const values = parsed.values;
  const verify: VerifyFlags = {
    simulator: values.simulator,
    simulation: values.simulation,
    prometheus: values.prometheus,
    selector: values.selector,
    otlpSink: values['otlp-sink'] === true,
    expectations: values.expectations,
    wait: values.wait,
    junit: values.junit,
    json: values.json === true,
  };
  if (parsed.values.help)
    return {
      command: 'help',
      helpFor: first === undefined || command === 'help' ? undefined : command,
      env,
      json: false,
      verify,
    };
  const given = (flag: string) => values[flag as keyof typeof values] !== undefined;
  const misplaced =
    command === 'verify'
      ? [...Object.keys(FLAG_ENV), 'chaos'].find(given)
      : VERIFY_FLAGS.find((flag) => given(flag));
  if (misplaced)
    throw new UsageError(
      command === 'verify'
        ? `--${misplaced} is a flag of run and plan, not of verify`
        : `--${misplaced} is a flag of verify, not of ${command}`,
    );
  return { command, helpFor: undefined, env, json: values.json === true, verify };
}

const OPTIONS = {
  profile: { type: 'string', short: 'p' },
  'profile-file': { type: 'string', short: 'f' },
  processes: { type: 'string', short: 'n' },
  duration: { type: 'string', short: 'd' },
  seed: { type: 'string', short: 's' },
  chaos: { type: 'boolean' },
  'metrics-port': { type: 'string' },
  'control-port': { type: 'string' },
  'otlp-endpoint': { type: 'string' },
  interval: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  simulator: { type: 'string' },
  simulation: { type: 'string' },
  prometheus: { type: 'string' },
  selector: { type: 'string' },
  'otlp-sink': { type: 'boolean' },
  expectations: { type: 'string', short: 'e' },
  wait: { type: 'string', short: 'w' },
  junit: { type: 'string' },
} as const;
