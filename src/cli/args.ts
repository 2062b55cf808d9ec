/**
 * Command-line parsing. Flags are another way to set the documented environment variables, so the
 * CLI and `npm start` with env vars share one validated path (src/config).
 */
import { parseArgs } from 'node:util';

export type Command = 'run' | 'profiles' | 'plan' | 'capture' | 'help' | 'fleet' | 'verify';

/** Commands that parse their own flags (everything after the command's name is theirs). */
const OWN_FLAGS: readonly Command[] = ['fleet', 'capture', 'verify'];

export interface ParsedArgs {
  command: Command;
  /** the arguments after the command's name, for a command with flags of its own */
  argv: readonly string[];
  /** the command the help is about */
  helpFor: Command | undefined;
  /** environment overrides from the flags */
  env: Record<string, string>;
  json: boolean;
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

const COMMANDS: readonly Command[] = ['run', 'profiles', 'plan', 'capture', 'help', 'fleet', 'verify'];

/**
 * @throws UsageError naming the unknown command or flag
 */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const [name, ...after] = argv;
  if (OWN_FLAGS.includes(name as Command)) {
    const wantsHelp = after.includes('--help') || after.includes('-h');
    return wantsHelp
      ? { command: 'help', helpFor: name as Command, argv: [], env: {}, json: false }
      : { command: name as Command, helpFor: undefined, argv: after, env: {}, json: false };
  }
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
  if (parsed.values.help)
    return {
      command: 'help',
      helpFor: first === undefined || command === 'help' ? undefined : command,
      argv: [],
      env,
      json: false,
    };
  return { command, helpFor: undefined, argv: [], env, json: parsed.values.json === true };
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
} as const;
