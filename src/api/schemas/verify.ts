/**
 * Request and response schemas of the pipeline verification routes. The expectations and the report
 * are the same zod schemas the CLI uses. They are plain zod schemas (src/verify does not depend on
 * the API), so they are named for the OpenAPI document with zod's own metadata (`meta({ id })`), which
 * does not depend on @hono/zod-openapi having been loaded before them.
 */
import { z } from '@hono/zod-openapi';
import { expectationsSchema } from '../../verify/expectations.ts';
import { groundTruthSchema, reportSchema } from '../../verify/schemas.ts';
import { durationSchema } from './common.ts';

export const VerifyReport = reportSchema.meta({
  id: 'VerifyReport',
  description:
    'The verdict, one result per check with its first differences, series per metric and priority, the linger of exited processes, and how values and PIDs were matched',
});

export const LastReport = z
  // A union rather than .nullable(): a nullable reference to a named schema loses its null in 3.1.
  .object({ simulation_id: z.string(), report: z.union([VerifyReport, z.null()]) })
  .openapi('LastVerification');

export const GroundTruthDocument = groundTruthSchema.meta({
  id: 'GroundTruth',
  description:
    'What the simulator produced: live processes with identity and recent /proc readings (numbers in the order time, cpu_user, cpu_system, cpu_wait, memory_usage, memory_virtual, threads, fds, disk_read, disk_write, context switches involuntary and voluntary, faults major and minor), the newest exits, the exported metrics',
});

export const Expectations = expectationsSchema.meta({
  id: 'Expectations',
  description:
    'What the pipeline is meant to do (keep, drop, attributes, aggregate, staleness, max_delay, tolerances); absent: deliver everything unchanged',
});

export function verifySchemas(limits: { maxDurationMs: number }) {
  const PrometheusSource = z
    .strictObject({
      type: z.literal('prometheus'),
      url: z
        .string()
        .max(2048)
        .regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
        .openapi({
          example: 'http://127.0.0.1:9090',
          description: 'base URL of a Prometheus-compatible query API',
        }),
      selector: z
        .string()
        .max(2048)
        .optional()
        .openapi({ example: 'job="collector"', description: 'label matchers added to every query' }),
    })
    .openapi('PrometheusSource');
  const SinkSource = z
    .strictObject({ type: z.literal('otlp-sink') })
    .openapi('OtlpSinkSource', { description: "what the simulator's own OTLP sink received" });
  const VerifyRequest = z
    .strictObject({
      source: z.discriminatedUnion('type', [PrometheusSource, SinkSource]),
      expectations: Expectations.optional(),
      wait: durationSchema(
        limits.maxDurationMs,
        'retry until the pipeline has caught up or this long has passed (default: one attempt): ',
      ).optional(),
    })
    .openapi('VerifyRequest');
  const TruthQuery = z.strictObject({
    since: z
      .string()
      .regex(/^\d{1,15}$/, 'epoch milliseconds')
      .optional()
      .openapi({
        param: { name: 'since', in: 'query' },
        description: 'readings from this time on (epoch ms), plus the one before',
      }),
    processes: z
      .enum(['true', 'false'])
      .optional()
      .openapi({
        param: { name: 'processes', in: 'query' },
        description: 'false: the simulation and its metrics only, no processes',
      }),
  });
  return { VerifyRequest, TruthQuery };
}

export const SinkStatus = z
  .object({
    location: z.string(),
    requests: z.number().int(),
    points: z.number().int(),
    series: z.number().int(),
    processes: z.number().int(),
    overflow: z.object({ series: z.number().int(), points: z.number().int() }),
    since: z.string(),
  })
  .openapi('OtlpSinkStatus');
