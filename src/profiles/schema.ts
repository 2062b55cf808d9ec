/**
 * The profile format: a profile is data (a list of process templates), so users can write their own in
 * YAML or JSON. Validated with zod; every error names the field path and the offending value.
 */
import { z } from 'zod';
import { sourceSchema } from './provenance.ts';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './units.ts';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Signals a process may hold pending (quirk `pending_signals`): none the engine or the worker needs
 * (SIGTERM ends it, SIGUSR1 wakes it, SIGCONT, SIGSTOP and SIGKILL cannot be held), none a stopped or
 * zombie quirk relies on.
 */
export const PENDABLE_SIGNALS = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGWINCH',
] as const;

/** Linux keeps at most 15 bytes of a process name (comm); longer names would not reach /proc intact. */
export const MAX_COMM_BYTES = 15;

/** A duration ("90s", "10m" or seconds) in ms, at most MAX_DURATION_MS: the longest a timer can wait. */
const duration = z.union([z.string().max(64), z.number()]).transform((value, ctx) => {
  try {
    const ms = parseDuration(value);
    if (ms <= MAX_DURATION_MS) return ms;
    ctx.addIssue({
      code: 'custom',
      input: value,
      message: `a duration of at most ${formatDuration(MAX_DURATION_MS)} (the longest a timer can wait)`,
    });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message, input: value });
  }
  return z.NEVER;
});

/**
 * A command-line argument. Control characters are refused: NUL cannot be passed to exec at all (a
 * start ended half-spawned), and newlines, escapes or tabs would reach `ps` and the command-line label
 * raw, where line-based tools and terminals misread them.
 */
const argument = z
  .string()
  .max(256)
  .refine(
    (text) => !hasControlCharacter(text),
    'printable text: control characters (NUL, newline, tab, escape...) are refused',
  );

/** True when `text` holds a C0 control character or DEL. */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

const nonNegative = z.number().finite().min(0);

/**
 * Most points a replay pattern holds: 10,000 samples are ~14 h at 5 s, and keep a profile of a few
 * hundred replayed processes within a few MB of YAML.
 */
export const MAX_REPLAY_POINTS = 10_000;

/** How a value (CPU % of one core, or memory MiB) changes over the life of the running process. */
const patternObject = z.discriminatedUnion('pattern', [
  z.strictObject({ pattern: z.literal('steady'), value: nonNegative }),
  z.strictObject({
    pattern: z.literal('spiky'),
    base: nonNegative,
    peak: nonNegative,
    /** time between the starts of two spikes */
    every: duration,
    /** how long each spike lasts */
    for: duration,
  }),
  z.strictObject({
    pattern: z.literal('growing'),
    start: nonNegative,
    max: nonNegative,
    per_minute: nonNegative,
    /** start over from `start` when `max` is reached (a leak fixed by a restart) instead of staying there */
    reset: z.boolean().default(false),
  }),
  z.strictObject({ pattern: z.literal('random'), min: nonNegative, max: nonNegative, every: duration }),
  z.strictObject({
    pattern: z.literal('replay'),
    /** time each value holds: the interval the values were recorded at */
    every: duration,
    /** the recorded values, one per `every`, from the start of the process */
    // The bound is checked with the template, where the error can name it: inside the pattern union
    // zod reports an over-long array as a bare "Invalid input".
    values: z.array(nonNegative).min(1),
    /** after the last value, start over from the first (true) or hold the last (false) */
    repeat: z.boolean().default(true),
  }),
]);

/** A pattern, or a bare number meaning a steady value. */
export const patternSchema = z.union([
  nonNegative.transform((value) => ({ pattern: 'steady' as const, value })),
  patternObject,
]);
export type Pattern = z.output<typeof patternObject>;
export type PatternName = Pattern['pattern'];

const lifetime = z.union([
  duration.transform((ms) => ({ min: ms, max: ms })),
  z.strictObject({ min: duration, max: duration }),
]);

/** What a template name may hold: a letter or digit, then letters, digits, . _ : + @ - and placeholders. */
export const NAME_CHARS = /^[A-Za-z0-9][A-Za-z0-9._:+@-]*(\{[ig]\}[A-Za-z0-9._:+@-]*)*$/;

/**
 * Quirks of a process that observers trip over, each held for real by the worker:
 * - `zombie_child`: it forks one child that exits at once and is left unreaped (state Z) until the
 *   process itself is stopped (it reaps it then); it never forks again.
 * - `stopped`: it stops itself (state T) once set up; SIGTERM still ends it.
 * - `deleted_executable`: it unlinks the file it was started from (/proc/PID/exe ends in " (deleted)").
 * - `user`: it runs as this user (name or uid; the simulator must be root): an unprivileged observer
 *   cannot read its fds, io or exe.
 * - `comm` / `comm_hex`: the kernel name (comm, status Name) is set to these bytes with prctl, at most
 *   15: spaces, parentheses, a slash like a kernel worker's, or (hex) bytes that are not UTF-8.
 * - `command_line_bytes`: its command line is padded to this many bytes (up to 1 MiB).
 * - `pending_signals`: it blocks these signals in every thread and sends them to itself once set up, so
 *   they stay pending for the whole process (status `ShdPnd`, what process.signals_pending reports).
 */
export const quirksSchema = z.strictObject({
  zombie_child: z.boolean().optional(),
  stopped: z.boolean().optional(),
  deleted_executable: z.boolean().optional(),
  user: z
    .union([
      z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name'),
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 2),
    ])
    .optional(),
  comm: z
    .string()
    .min(1)
    .refine((text) => Buffer.byteLength(text) <= MAX_COMM_BYTES, `at most ${MAX_COMM_BYTES} bytes`)
    .refine((text) => !text.includes('\u0000'), 'no NUL byte')
    .optional(),
  comm_hex: z
    .string()
    .regex(/^([0-9a-f]{2}){1,15}$/i, `1 to ${MAX_COMM_BYTES} bytes as hex pairs`)
    .refine((hex) => !/^(..)*00/i.test(hex), 'no NUL byte')
    .optional(),
  command_line_bytes: z
    .number()
    .int()
    .min(1)
    .max(2 ** 20)
    .optional(),
  pending_signals: z
    .array(z.enum(PENDABLE_SIGNALS))
    .min(1)
    .max(PENDABLE_SIGNALS.length)
    .refine((list) => new Set(list).size === list.length, 'each signal once')
    .optional(),
});
export type Quirks = z.output<typeof quirksSchema>;

export const templateSchema = z
  .strictObject({
    /** Process name; `{i}` is the 1-based instance number, `{g}` the generation (restarts, wraps at 1000). */
    name: z.string().min(1).regex(NAME_CHARS, 'letters, digits, . _ : + @ - and the placeholders {i} {g}'),
    count: z.number().int().min(0).max(100_000),
    priority: z.enum(PRIORITIES),
    /** CPU in percent of one core (0-100). */
    cpu: patternSchema.default({ pattern: 'steady', value: 0 }),
    /** Resident memory in MiB; below the worker's floor (~0.5 MiB) the process simply stays at its floor. */
    memory: patternSchema.default({ pattern: 'steady', value: 0 }),
    threads: z.number().int().min(1).max(4096).default(1),
    /** Entries in /proc/PID/fd, including stdin/stdout/stderr. */
    fds: z.number().int().min(3).max(65_536).default(3),
    /** Command-line arguments shown after the name (display only: nothing interprets them). */
    args: z.array(argument).max(32).default([]),
    /** How long each process lives; omitted means until the simulation stops. */
    lifetime: lifetime.optional(),
    /** What happens when a process exits: replaced always, only after a failure, or never. */
    restart: z.enum(['always', 'on-failure', 'never']).default('always'),
    restart_delay: duration.default(0),
    /** What makes this process hard for an observer (the edge-cases profile); see QUIRKS_DOC. */
    quirks: quirksSchema.optional(),
  })
  .superRefine((template, ctx) => {
    const widest = expandName(template.name, template.count || 1, 999);
    if (Buffer.byteLength(widest) > MAX_COMM_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        input: template.name,
        message: `expands to "${widest}" (${Buffer.byteLength(widest)} bytes); Linux keeps only ${MAX_COMM_BYTES} bytes of a process name`,
      });
    }
    for (const key of ['cpu', 'memory'] as const) {
      const pattern = template[key];
      if (pattern.pattern === 'spiky' && pattern.for > pattern.every) {
        ctx.addIssue({
          code: 'custom',
          path: [key, 'for'],
          input: pattern.for,
          message: 'a spike cannot last longer than `every`',
        });
      }
      if (pattern.pattern === 'replay' && pattern.values.length > MAX_REPLAY_POINTS) {
        ctx.addIssue({
          code: 'custom',
          path: [key, 'values'],
          input: pattern.values.length,
          message: `a replay holds at most ${MAX_REPLAY_POINTS} values`,
        });
      }
      if (pattern.pattern === 'replay' && pattern.every <= 0) {
        ctx.addIssue({
          code: 'custom',
          path: [key, 'every'],
          input: pattern.every,
          message: 'a replay needs a time per value greater than 0',
        });
      }
      if (
        (pattern.pattern === 'growing' && pattern.max < pattern.start) ||
        (pattern.pattern === 'random' && pattern.max < pattern.min)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: [key, 'max'],
          input: pattern.max,
          message: 'max must be >= start/min',
        });
      }
    }
    const cpu = template.cpu;
    const cpuMax =
      cpu.pattern === 'steady'
        ? cpu.value
        : cpu.pattern === 'spiky'
          ? Math.max(cpu.base, cpu.peak)
          : cpu.pattern === 'replay'
            ? cpu.values.reduce((max, value) => Math.max(max, value), 0)
            : cpu.max;
    if (cpuMax > 100) {
      ctx.addIssue({
        code: 'custom',
        path: ['cpu'],
        input: cpuMax,
        message: 'CPU is a share of one core: at most 100 (%)',
      });
    }
    if (template.quirks?.comm !== undefined && template.quirks.comm_hex !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['quirks'],
        input: template.quirks,
        message: 'comm and comm_hex both set the name: give one',
      });
    }
    if (template.lifetime && template.priority === 'critical') {
      ctx.addIssue({
        code: 'custom',
        path: ['lifetime'],
        input: template.lifetime,
        message: 'critical processes are never churned: omit lifetime',
      });
    }
    if (template.lifetime && template.lifetime.max < template.lifetime.min) {
      ctx.addIssue({
        code: 'custom',
        path: ['lifetime', 'max'],
        input: template.lifetime.max,
        message: 'max must be >= min',
      });
    }
  });
export type Template = z.output<typeof templateSchema>;
export type TemplateInput = z.input<typeof templateSchema>;

export const chaosSchema = z.strictObject({
  /** Random kills (SIGKILL) of non-critical processes, per minute across the simulation. */
  failures_per_minute: nonNegative.default(2),
  /** Random CPU spikes on non-critical processes, per minute. */
  spikes_per_minute: nonNegative.default(2),
  spike_percent: z.number().min(1).max(100).default(80),
  spike_duration: duration.default(15_000),
  /** Random memory leaks on non-critical processes, per minute. */
  leaks_per_minute: nonNegative.default(0.5),
  leak_mib_per_minute: nonNegative.default(20),
  leak_duration: duration.default(60_000),
});
export type ChaosSettings = z.output<typeof chaosSchema>;

export const profileSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -'),
  description: z.string().max(500).default(''),
  templates: z.array(templateSchema).min(1).max(1000),
  /** Random faults; applied when the profile or the run enables chaos. */
  chaos: chaosSchema.optional(),
  /** Where a captured profile came from and how well it was estimated; nothing reads it but `plan`. */
  source: sourceSchema.optional(),
});
export type Profile = z.output<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

/** The name of instance `index` (1-based) at generation `generation` of a template name. */
export function expandName(name: string, index: number, generation: number): string {
  return name.replaceAll('{i}', String(index)).replaceAll('{g}', String(generation % 1000));
}
