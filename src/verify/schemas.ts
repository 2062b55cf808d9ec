/**
 * zod schemas of the verification documents (the ground truth, the report), typed against the
 * interfaces of truth.ts and report.ts so that they cannot drift: the API documents and validates with
 * them, and the CLI checks what a simulator sent before trusting it.
 */
import { z } from 'zod';
import { PRIORITIES } from '../profiles/schema.ts';
import { CHECKS, type CheckName, type Report } from './report.ts';
import type { GroundTruth } from './truth.ts';

const int = () => z.number().int();
const text = (max = 4096) => z.string().max(max);
const priority = z.enum(PRIORITIES);

const difference = z.object({
  check: z.enum(Object.keys(CHECKS) as [CheckName, ...CheckName[]]),
  kind: text(64),
  pid: int().optional(),
  name: text(1024).optional(),
  priority: priority.optional(),
  metric: text(256).optional(),
  attribute: text(256).optional(),
  expected: text().optional(),
  observed: text().optional(),
  message: text(),
});

export const reportSchema: z.ZodType<Report> = z.object({
  verdict: z.enum(['pass', 'fail']),
  simulation: z.object({ id: text(128), name: text(256), profile: text(256), state: text(32) }),
  source: z.object({
    kind: z.enum(['prometheus', 'otlp-sink']),
    location: text(),
    naming: text(32),
    observed_at: text(64),
  }),
  expectations: z.object({ origin: text(), summary: z.array(text()).max(100) }),
  started_at: text(64),
  finished_at: text(64),
  attempts: int().min(1),
  skew: text(),
  matching: z.object({
    methods: z.partialRecord(
      z.enum(['pid', 'nspid', 'start-time', 'name+command-line', 'name+command-line (group)']),
      int(),
    ),
    unmatched: int(),
    note: text(),
  }),
  linger: z.object({
    allowed_seconds: z.number(),
    exits_checked: int(),
    seen_after_exit: int(),
    still_present: int(),
    overdue: int(),
    max_seconds: z.number().nullable(),
    p50_seconds: z.number().nullable(),
    lookback_seconds: z.number(),
    resolution_seconds: z.number(),
  }),
  series: z
    .array(
      z.object({
        metric: text(256),
        priority: z.union([priority, z.literal('mixed')]),
        expected: int(),
        observed: int(),
        pending: int(),
      }),
    )
    .max(1000),
  checks: z
    .array(
      z.object({
        name: z.enum(Object.keys(CHECKS) as [CheckName, ...CheckName[]]),
        title: text(),
        passed: z.boolean(),
        checked: int(),
        failed: int(),
        pending: int(),
        summary: text(),
        differences: z.array(difference).max(200),
        differences_total: int(),
      }),
    )
    .max(20),
  notes: z.array(text()).max(100),
});

const reading = z.array(z.number()).max(64);

export const groundTruthSchema: z.ZodType<GroundTruth> = z.object({
  version: z.literal(1),
  simulation: z.object({
    id: z.string(),
    name: z.string(),
    profile: z.string(),
    state: z.string(),
    started_at_ms: z.number().nullable(),
    ended_at_ms: z.number().nullable(),
    shard: z.object({ index: z.number().int().min(0), count: z.number().int().min(2) }).optional(),
  }),
  taken_at_ms: z.number(),
  interval_ms: z.number(),
  clock_ticks: z.number().positive(),
  page_size: z.number(),
  boot_time_seconds: z.number(),
  host: z.object({ boot_id: z.string().nullable(), pid_namespace: z.string().nullable() }),
  simulation_attribute_prefix: z.string().nullable(),
  process_attribute_keys: z.array(z.string().max(64)).max(64).optional(),
  metrics: z.array(
    z.object({
      name: z.string(),
      prometheus_name: z.string(),
      unit: z.string(),
      shape: z.enum(['counter', 'updown', 'gauge']),
      value_type: z.enum(['int', 'double']),
      split: z.object({ key: z.string(), values: z.array(z.string()) }).nullable(),
    }),
  ),
  readings_from_ms: z.number(),
  processes: z.array(
    z.object({
      pid: int(),
      name: z.string(),
      priority,
      profile: z.string(),
      cpu_pattern: z.string(),
      memory_pattern: z.string(),
      started_at_ms: z.number(),
      start_time_ms: z.number().nullable(),
      start_ticks: z.number().nullable(),
      ppid: int().nullable(),
      executable_path: z.string().nullable(),
      command_line: z.array(z.string()).nullable(),
      owner: z.string().nullable(),
      readings: z.array(reading),
    }),
  ),
  exits: z.array(
    z.object({
      pid: int(),
      name: z.string(),
      priority,
      reason: z.enum(['lifetime', 'stopped', 'killed', 'crashed']),
      started_at_ms: z.number(),
      exited_at_ms: z.number(),
    }),
  ),
  exits_total: int(),
  exit_log_limit: int(),
});
