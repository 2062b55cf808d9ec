/**
 * Request and response schemas of /chaos. A fault targets the simulator's own live processes, chosen by
 * a name pattern: nothing in a request is a PID, so nothing outside the simulator can be reached.
 */
import { z } from '@hono/zod-openapi';
import { parseRate } from '../../profiles/units.ts';
import { durationSchema, isoTime } from './common.ts';

/** Signals a process-kill may send. SIGUSR1 is the workers' control signal and SIGSTOP would not end them. */
export const KILL_SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGABRT'] as const;

/** A leak beyond this is no longer a leak but an allocation storm; the per-process cap keeps it a test. */
const MAX_LEAK_BYTES_PER_SECOND = 2 ** 30 / 60;

const RATE_TEXT = /^\s*\d+(\.\d+)?\s*[A-Za-z]*\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/;

export function chaosSchemas(limits: { maxProcesses: number; maxDurationMs: number }) {
  const target = {
    process_pattern: z
      .string()
      .min(1)
      .max(64)
      .regex(
        /^[A-Za-z0-9._:+@*?-]+$/,
        'a process name, * and ? as wildcards (letters, digits, . _ : + @ - * ?)',
      )
      .openapi({
        description: 'name of the simulated processes to hit; * and ? are wildcards',
        example: 'nginx-worker*',
      }),
    simulation_id: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .openapi({ description: 'only processes of this simulation' }),
    include_critical: z.boolean().optional().openapi({
      description: 'let a wildcard pattern hit critical processes too; an exact name always may',
    }),
  };
  const duration = durationSchema(limits.maxDurationMs);

  const CpuSpike = z
    .strictObject({
      ...target,
      intensity: z
        .number()
        .min(1)
        .max(100)
        .openapi({ description: 'CPU in percent of one core', example: 80 }),
      duration,
    })
    .openapi('CpuSpikeRequest');

  const MemoryLeak = z
    .strictObject({
      ...target,
      leak_rate: z
        .string()
        .max(64)
        .regex(RATE_TEXT, 'a rate such as "10MB/min", "1MiB/s" or "100MB/h"')
        .transform((text, ctx) => {
          try {
            const bytesPerSecond = parseRate(text);
            if (bytesPerSecond > 0 && bytesPerSecond <= MAX_LEAK_BYTES_PER_SECOND) return bytesPerSecond;
            ctx.addIssue({
              code: 'custom',
              input: text,
              message: 'a rate above 0 and at most 1GiB/min per process',
            });
          } catch (error) {
            ctx.addIssue({ code: 'custom', input: text, message: (error as Error).message });
          }
          return z.NEVER;
        })
        .openapi({ description: 'how fast RSS grows, per process; at most 1GiB/min', example: '10MB/min' }),
      duration,
    })
    .openapi('MemoryLeakRequest');

  const ProcessKill = z
    .strictObject({
      ...target,
      count: z
        .number()
        .int()
        .min(1)
        .max(limits.maxProcesses)
        .default(1)
        .openapi({ description: 'at most this many of the matching processes, oldest first', example: 1 }),
      signal: z.enum(KILL_SIGNALS).default('SIGKILL'),
    })
    .openapi('ProcessKillRequest');

  return { CpuSpike, MemoryLeak, ProcessKill };
}

export const FaultView = z
  .object({
    id: z.string(),
    kind: z.enum(['cpu-spike', 'memory-leak', 'process-kill']),
    origin: z.enum(['api', 'random']),
    simulation_id: z.string().nullable(),
    pids: z.array(z.number().int()),
    names: z.array(z.string()).openapi({ description: 'names of the processes hit, in the order of pids' }),
    started_at: isoTime,
    ends_at: isoTime,
    intensity_percent: z.number().nullable(),
    leak_bytes_per_second: z.number().nullable(),
    signal: z.string().nullable(),
  })
  .openapi('Fault');

export const FaultList = z.object({ faults: z.array(FaultView) }).openapi('FaultList');
