/**
 * Request and response schemas of /simulations. Built per app from the limits in force, so the document
 * shows the real caps (MAX_PROCESSES, MAX_DURATION) and validation enforces the same numbers.
 */
import { z } from '@hono/zod-openapi';
import { EXIT_REASONS } from '../../engine/simulation.ts';
import { builtinProfileNames } from '../../profiles/load.ts';
import { chaosSchema, PRIORITIES, profileSchema } from '../../profiles/schema.ts';
import { durationSchema, isoTime } from './common.ts';

export const SIMULATION_STATES = [
  'created',
  'starting',
  'running',
  'stopping',
  'stopped',
  'completed',
  'failed',
] as const;

/** The slice of a sharded run a simulation holds; null for a whole run. */
const ShardView = z
  .object({ index: z.number().int(), count: z.number().int() })
  .nullable()
  .openapi({ description: 'shard index (0-based) and count of a run spread over several simulators' });

export interface SimulationLimits {
  maxProcesses: number;
  maxDurationMs: number;
}

export function simulationSchemas(limits: SimulationLimits) {
  const names = builtinProfileNames();
  const CreateSimulation = z
    .strictObject({
      name: z
        .string()
        .min(1)
        .max(64)
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9 ._:@+-]*$/,
          'letters, digits, space and . _ : @ + -, starting with a letter or digit',
        )
        .openapi({ example: 'pipeline-check' }),
      type: z.union([z.enum(names as [string, ...string[]]), profileSchema]).openapi({
        description: `a built-in profile (${names.join(', ')}) or an inline profile`,
        example: 'realistic',
      }),
      duration: durationSchema(
        limits.maxDurationMs,
        'completes on its own after this long (omitted: runs until stopped): ',
      ).optional(),
      parameters: z
        .strictObject({
          process_count: z
            .number()
            .int()
            .min(1)
            .max(limits.maxProcesses)
            .optional()
            .openapi({
              description: `scales the profile to this many processes (MAX_PROCESSES=${limits.maxProcesses})`,
              example: 20,
            }),
          enable_chaos: z.boolean().optional().openapi({
            description: 'random kills, spikes and leaks; default: on when the profile has chaos settings',
          }),
          seed: z
            .number()
            .int()
            .min(0)
            .max(2 ** 31 - 1)
            .optional()
            .openapi({ description: 'same seed, same names, patterns and churn', example: 42 }),
          chaos: chaosSchema
            .optional()
            .openapi({ description: "rates of the random chaos, replacing the profile's" }),
        })
        .optional(),
    })
    .openapi('CreateSimulation');

  const Simulation = z
    .object({
      id: z.string(),
      name: z.string(),
      profile: z.string(),
      state: z.enum(SIMULATION_STATES),
      seed: z.number().int(),
      chaos: z.boolean(),
      duration: z.string().nullable().openapi({ example: '1m30s' }),
      duration_ms: z.number().int().nullable(),
      created_at: isoTime,
      started_at: isoTime.nullable(),
      ended_at: isoTime.nullable(),
      planned_processes: z.number().int(),
      live_processes: z.number().int(),
      failure_reason: z.string().nullable(),
      warning: z.string().nullable().openapi({ description: 'why the ramp stopped early, if it did' }),
      shard: ShardView,
      start_at: isoTime.nullable().openapi({ description: 'when it starts on its own (START_AT), if set' }),
    })
    .openapi('Simulation');

  const ListQuery = z.strictObject({
    status: z
      .enum(SIMULATION_STATES)
      .optional()
      .openapi({ param: { name: 'status', in: 'query' }, description: 'only simulations in this state' }),
  });

  const StartQuery = z.strictObject({
    wait: z
      .enum(['true', 'false'])
      .optional()
      .openapi({
        param: { name: 'wait', in: 'query' },
        description: 'true: answer once every process is spawned (the ramp is over)',
      }),
  });

  return { CreateSimulation, Simulation, ListQuery, StartQuery };
}

const byPriority = z.object(
  Object.fromEntries(PRIORITIES.map((p) => [p, z.number().int()])) as Record<
    (typeof PRIORITIES)[number],
    z.ZodNumber
  >,
);
const counted = z.object({ total: z.number().int(), by_priority: byPriority });

/** What the sampler read of a process: whether an observer of the simulator's metrics could see it. */
const SamplingView = z
  .object({
    samples: z.number().int().openapi({ description: 'readings the sampler took of it; 0 = never seen' }),
    first_sampled_at: isoTime.nullable(),
    last_sampled_at: isoTime.nullable(),
  })
  .openapi({
    description:
      'the ground truth of what the sampler saw: a new process is read within about a second of its start',
  });

/** What a correct observer reports for a process (see the README's "Processes that break observers"). */
const ExpectedView = z
  .object({
    executable_name: z
      .string()
      .openapi({ description: 'the kernel name (comm) as UTF-8; bytes that are not UTF-8 show as U+FFFD' }),
    executable_name_hex: z.string().openapi({ description: 'the exact bytes of the name, hex' }),
    executable_name_utf8: z.boolean(),
    executable_path: z
      .string()
      .openapi({ description: 'target of /proc/PID/exe, with " (deleted)" once the file is unlinked' }),
    executable_deleted: z.boolean(),
    command: z.string().openapi({ description: 'argv[0]' }),
    command_line_bytes: z
      .number()
      .int()
      .openapi({ description: 'bytes of /proc/PID/cmdline, each argument with its NUL' }),
    owner: z.string().openapi({ description: 'user name of the real uid' }),
    uid: z.number().int(),
    stopped: z.boolean().openapi({ description: 'held in state T' }),
    threads: z.number().int(),
    fds: z.number().int(),
    zombie_children: z
      .number()
      .int()
      .openapi({ description: 'unreaped children in state Z, each with no exe and an empty command line' }),
    signals_pending: z
      .number()
      .int()
      .openapi({ description: 'status ShdPnd as an integer, as process.signals_pending reports it' }),
  })
  .openapi('ExpectedProcess');

export const ProcessView = z
  .object({
    pid: z.number().int(),
    name: z.string(),
    priority: z.enum(PRIORITIES),
    generation: z.number().int(),
    started_at: isoTime,
    patterns: z.object({ cpu: z.string(), memory: z.string() }),
    targets: z.object({
      cpu_percent: z.number(),
      rss_bytes: z.number().int(),
      threads: z.number().int(),
      fds: z.number().int(),
    }),
    sampled_at: isoTime
      .nullable()
      .openapi({ description: 'time of the /proc reading below; null before the first sample' }),
    state: z.string().nullable().openapi({ description: 'state letter of /proc/PID/stat (R, S, D, Z...)' }),
    cpu_percent: z
      .number()
      .nullable()
      .openapi({ description: 'percent of one core since the previous sample' }),
    rss_bytes: z.number().int().nullable(),
    threads: z.number().int().nullable(),
    fds: z.number().int().nullable(),
    sampling: SamplingView,
    expected: ExpectedView,
  })
  .openapi('Process');

export const ExitView = z
  .object({
    pid: z.number().int(),
    name: z.string(),
    priority: z.enum(PRIORITIES),
    generation: z.number().int(),
    started_at: isoTime,
    exited_at: isoTime,
    reason: z.enum(EXIT_REASONS as [string, ...string[]]),
    exit_code: z.number().int().nullable(),
    signal: z.string().nullable(),
    samples: z.number().int().openapi({ description: 'readings the sampler took of it; 0 = never seen' }),
    first_sampled_at: isoTime.nullable(),
    last_sampled_at: isoTime.nullable(),
    final_reading: z.boolean().openapi({
      description:
        'read right before the engine ended it, so its last counters were exported (never for a crash)',
    }),
  })
  .openapi('Exit');

export const ExitList = z
  .object({
    simulation_id: z.string(),
    total: z.number().int().openapi({ description: 'exits so far; the newest ones are listed' }),
    exits: z.array(ExitView).openapi({ description: 'the newest exits, oldest first' }),
  })
  .openapi('ExitList');

export const ProcessList = z
  .object({ simulation_id: z.string(), processes: z.array(ProcessView) })
  .openapi('ProcessList');

const seriesCount = z.object({
  per_process: z
    .number()
    .int()
    .openapi({ description: 'series of this metric for one process (attribute values such as state)' }),
  current: counted,
  peak: counted.openapi({ description: 'per priority: the peak of that priority alone' }),
});

export const Results = z
  .object({
    simulation_id: z.string(),
    name: z.string(),
    profile: z.string(),
    state: z.enum(SIMULATION_STATES),
    seed: z.number().int(),
    started_at: isoTime.nullable(),
    ended_at: isoTime.nullable(),
    shard: ShardView,
    start_at: isoTime.nullable(),
    start_skew_ms: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'started minus start_at, ms: late when positive (null without start_at)' }),
    elapsed_seconds: z.number(),
    processes: z.object({
      planned: z.number().int(),
      live: counted,
      peak: counted,
      started: counted,
      sampling: z
        .object({
          live_sampled: z.number().int(),
          live_not_yet_sampled: z.number().int(),
          exited_sampled: z.number().int(),
          exited_never_sampled: z.number().int(),
          exited_with_final_reading: z.number().int(),
        })
        .openapi({
          description:
            'what the sampler saw: live processes read at least once, exits seen or never seen, and exits whose last counters were read right before the engine ended them',
        }),
      exited: z.object({
        total: z.number().int(),
        by_reason: z.object(
          Object.fromEntries(EXIT_REASONS.map((r) => [r, counted])) as Record<
            (typeof EXIT_REASONS)[number],
            typeof counted
          >,
        ),
      }),
    }),
    series: z.object({
      total: z.object({ current: z.number().int(), peak: z.number().int() }),
      metrics: z.record(z.string(), seriesCount),
    }),
    churn_per_minute: z.number().int().openapi({ description: 'processes that exited during the last 60 s' }),
    chaos: z.array(
      z.object({
        fault_id: z.string(),
        kind: z.string(),
        origin: z.string(),
        at: isoTime,
        ended_at: isoTime.nullable(),
        pids: z.array(z.number().int()),
        names: z.array(z.string()),
      }),
    ),
    crashes: z.array(
      z.object({
        pid: z.number().int(),
        name: z.string(),
        exit_code: z.number().int().nullable(),
        signal: z.string().nullable(),
        at: isoTime,
      }),
    ),
    warning: z.string().nullable(),
    failure_reason: z.string().nullable(),
  })
  .openapi('Results');
