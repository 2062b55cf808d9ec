/**
 * Expectations: what a pipeline is meant to do to the simulator's data, as data (YAML or JSON). Absent,
 * the pipeline must deliver everything unchanged. Validated like profiles: every bad field is named
 * with its value and what was expected.
 *
 *   keep: { priorities: [critical, high], names: ["nginx*"], metrics: [process.cpu.time] }
 *   drop: { priorities: [low], names: ["job-*"], metrics: [process.disk.io] }
 *   attributes: { removed: [simulator.*], renamed: { process.owner: owner }, added: [env], ignored: [k8s.*] }
 *   aggregate: { by: [process.executable.name] }
 *   staleness: 60s
 *   max_delay: 30s
 *   tolerances: { memory_percent: 1, cpu_ticks: 2 }
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compileGlob } from '../engine/glob.ts';
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import { formatDuration, parseDuration } from '../profiles/units.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import { PROCESS_METRICS } from '../telemetry/process-metrics.ts';

/** Longest staleness or delay an expectations file may declare. */
export const MAX_EXPECTED_DURATION_MS = 24 * 3_600_000;

/**
 * Keys a process series carries that say where the data came from rather than which process it is:
 * the simulator's and a host's Resource (service.*, host.*, os.*, telemetry.*) and the labels a scrape
 * adds. Not compared unless an expectations file names them (attributes.added).
 */
export const CONTEXT_KEYS: readonly string[] = [
  'service.*',
  'host.*',
  'os.*',
  'telemetry.*',
  'otel.*',
  'job',
  'instance',
  'exported_job',
  'exported_instance',
];

const METRIC_NAMES = PROCESS_METRICS.map((metric) => metric.name);

const duration = (what: string) =>
  z.union([z.string().max(64), z.number()]).transform((value, ctx) => {
    try {
      const ms = parseDuration(value);
      if (ms > 0 && ms <= MAX_EXPECTED_DURATION_MS) return ms;
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `${what}: a duration above 0 and at most ${formatDuration(MAX_EXPECTED_DURATION_MS)}`,
      });
    } catch (error) {
      ctx.addIssue({ code: 'custom', input: value, message: (error as Error).message });
    }
    return z.NEVER;
  });

/** An attribute key in its OTLP form (process.owner); `*` and `?` match any characters where allowed. */
const attributeKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.*?:/-]+$/, 'an attribute key: letters, digits and _ . : / - (and * ? as wildcards)');

const exactKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'an attribute key: letters, digits and _ . : / -');

const namePattern = z
  .string()
  .min(1)
  .max(256)
  .regex(
    /^[\x21-\x7e]+$/,
    'a process name pattern: printable characters without spaces, * and ? as wildcards',
  );

const selection = z.strictObject({
  priorities: z.array(z.enum(PRIORITIES)).min(1).max(4).optional(),
  names: z.array(namePattern).min(1).max(1000).optional(),
  metrics: z
    .array(z.enum(METRIC_NAMES as [string, ...string[]]))
    .min(1)
    .max(METRIC_NAMES.length)
    .optional(),
});

export const expectationsSchema = z
  .strictObject({
    /** only what matches survives the pipeline (every field given must match) */
    keep: selection.optional(),
    /** what matches is removed by the pipeline (any field given that matches) */
    drop: selection.optional(),
    attributes: z
      .strictObject({
        /** keys the pipeline removes: they must be absent */
        removed: z.array(attributeKey).max(100).default([]),
        /** keys the pipeline renames, old: new */
        renamed: z.record(exactKey, exactKey).default({}),
        /** keys the pipeline adds: they must be present */
        added: z.array(exactKey).max(100).default([]),
        /** keys not compared at all, beyond the default context keys */
        ignored: z.array(attributeKey).max(100).default([]),
      })
      .default({ removed: [], renamed: {}, added: [], ignored: [] }),
    /** the pipeline sums the processes that share these attribute values into one series each */
    aggregate: z.strictObject({ by: z.array(exactKey).min(1).max(20) }).optional(),
    /** how long after its exit a process may still be seen downstream */
    staleness: duration('staleness').default(60_000),
    /** how old a value seen downstream may be (reading, export, batching, scrape) */
    max_delay: duration('max_delay').default(30_000),
    tolerances: z
      .strictObject({
        /** memory (usage and virtual) may differ by this much, in percent */
        memory_percent: z.number().min(0).max(100).default(1),
        /** CPU time may differ by this many clock ticks (beyond the skew between the reads) */
        cpu_ticks: z.number().min(0).max(10_000).default(2),
      })
      .default({ memory_percent: 1, cpu_ticks: 2 }),
  })
  .superRefine((value, ctx) => {
    for (const [from, to] of Object.entries(value.attributes.renamed)) {
      if (value.attributes.removed.includes(from))
        ctx.addIssue({
          code: 'custom',
          path: ['attributes', 'renamed', from],
          input: to,
          message: `${from} is also listed as removed: a key is renamed or removed, not both`,
        });
      if (from === to)
        ctx.addIssue({
          code: 'custom',
          path: ['attributes', 'renamed', from],
          input: to,
          message: 'a new name different from the old one',
        });
    }
  });

export type ExpectationsInput = z.input<typeof expectationsSchema>;

/** Validated expectations in the comparison's terms. */
export interface Expectations {
  keep: Selection | undefined;
  drop: Selection | undefined;
  attributes: { removed: string[]; renamed: Record<string, string>; added: string[]; ignored: string[] };
  aggregate: { by: string[] } | undefined;
  stalenessMs: number;
  maxDelayMs: number;
  tolerances: { memoryPercent: number; cpuTicks: number };
  /** where they came from: a file path, "request" or "default (everything unchanged)" */
  origin: string;
}

export interface Selection {
  priorities?: Priority[];
  names?: string[];
  metrics?: string[];
}

/**
 * Validates expectations given as data (a parsed file, an API body); undefined means the defaults.
 * @throws ValidationError naming every bad field with its value
 */
export function validateExpectations(input: unknown, origin = 'request'): Expectations {
  const result = expectationsSchema.safeParse(input ?? {}, { reportInput: true });
  if (!result.success) throw ValidationError.fromZod(`expectations (${origin})`, result.error);
  return toExpectations(result.data, input === undefined ? undefined : origin);
}

/** Expectations already parsed by the schema (an API body); origin undefined = the defaults. */
export function toExpectations(
  value: z.output<typeof expectationsSchema>,
  origin: string | undefined,
): Expectations {
  return {
    keep: value.keep,
    drop: value.drop,
    attributes: value.attributes,
    aggregate: value.aggregate,
    stalenessMs: value.staleness,
    maxDelayMs: value.max_delay,
    tolerances: {
      memoryPercent: value.tolerances.memory_percent,
      cpuTicks: value.tolerances.cpu_ticks,
    },
    origin: origin ?? 'default (everything unchanged)',
  };
}

/**
 * Reads and validates an expectations file: `.json` as JSON, anything else as YAML. `data` is what the
 * file holds, to hand on (to a simulator that runs the verification itself).
 * @throws ValidationError naming the file when it cannot be read or parsed, or every bad field
 */
export function loadExpectationsFile(path: string): { data: unknown; expectations: Expectations } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError('expectations', [
      { path: 'file', value: path, message: `cannot be read: ${(error as Error).message}` },
    ]);
  }
  const json = extname(path).toLowerCase() === '.json';
  let data: unknown;
  try {
    data = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ValidationError('expectations', [
      {
        path: 'file',
        value: path,
        message: `is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      },
    ]);
  }
  // An empty file is no expectation at all: the pipeline delivers everything unchanged.
  return { data: data ?? {}, expectations: validateExpectations(data ?? {}, `file ${path}`) };
}

/** True when a process of this name and priority is expected downstream. */
export function keepsProcess(expectations: Expectations, name: string, priority: Priority): boolean {
  const matches = (selection: Selection, every: boolean) => {
    const tests: boolean[] = [];
    if (selection.priorities) tests.push(selection.priorities.includes(priority));
    if (selection.names) tests.push(selection.names.some((pattern) => compileGlob(pattern)(name)));
    if (tests.length === 0) return undefined;
    return every ? tests.every(Boolean) : tests.some(Boolean);
  };
  if (expectations.keep && matches(expectations.keep, true) === false) return false;
  if (expectations.drop && matches(expectations.drop, false) === true) return false;
  return true;
}

/** True when the metric (OTLP name) is expected downstream. */
export function keepsMetric(expectations: Expectations, metric: string): boolean {
  if (expectations.keep?.metrics && !expectations.keep.metrics.includes(metric)) return false;
  if (expectations.drop?.metrics?.includes(metric)) return false;
  return true;
}

/** One line per thing the pipeline is expected to do, for the report. */
export function describeExpectations(expectations: Expectations): string[] {
  const lines: string[] = [];
  const selection = (selection: Selection) =>
    [
      selection.priorities && `priorities ${selection.priorities.join(', ')}`,
      selection.names && `names ${selection.names.join(', ')}`,
      selection.metrics && `metrics ${selection.metrics.join(', ')}`,
    ]
      .filter(Boolean)
      .join('; ');
  if (expectations.keep) lines.push(`keeps only ${selection(expectations.keep)}`);
  if (expectations.drop) lines.push(`drops ${selection(expectations.drop)}`);
  const { removed, renamed, added } = expectations.attributes;
  if (removed.length) lines.push(`removes attributes ${removed.join(', ')}`);
  for (const [from, to] of Object.entries(renamed)) lines.push(`renames attribute ${from} to ${to}`);
  if (added.length) lines.push(`adds attributes ${added.join(', ')}`);
  if (expectations.aggregate) lines.push(`sums processes per ${expectations.aggregate.by.join(', ')}`);
  if (lines.length === 0) lines.push('delivers everything unchanged');
  lines.push(
    `exited processes gone within ${formatDuration(expectations.stalenessMs)}, values at most ${formatDuration(expectations.maxDelayMs)} old`,
  );
  lines.push(
    `tolerances: memory ${expectations.tolerances.memoryPercent} %, CPU time ${expectations.tolerances.cpuTicks} clock ticks`,
  );
  return lines;
}
