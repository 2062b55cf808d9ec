/**
 * Schemas shared by the routes: the error shape, ids, durations. The same zod objects validate the
 * requests and generate /openapi.json, so the document cannot drift from what the API accepts.
 */
import { z } from '@hono/zod-openapi';
import { formatDuration, parseDuration } from '../../profiles/units.ts';

export const ErrorSchema = z
  .object({
    error: z.object({
      status: z.number().int().openapi({ example: 422 }),
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string().openapi({ example: 'invalid request body: parameters.process_count' }),
      issues: z.array(
        z.object({
          field: z.string().openapi({ example: 'parameters.process_count' }),
          in: z.enum(['body', 'query', 'path', 'header']),
          value: z.unknown().optional().openapi({ example: 99_999 }),
          expected: z.string().openapi({ example: 'Too big: expected number to be <=12000' }),
        }),
      ),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');

const errorContent = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorSchema } },
});

/** Error responses by status, to spread into a route's `responses`. */
export const errors = {
  400: errorContent('The body is not valid JSON'),
  401: errorContent('Missing or wrong bearer token (only when API_TOKEN is set)'),
  404: errorContent('No such simulation, fault or matching process'),
  409: errorContent('The simulation is not in a state that allows this'),
  413: errorContent('The body is larger than API_BODY_LIMIT'),
  415: errorContent('The body is not sent as application/json'),
  422: errorContent(
    'A field is missing, of the wrong type, unknown, out of range, or beyond a limit of the simulator or the machine',
  ),
  503: errorContent('The processes could not be spawned or the simulator is shutting down'),
} as const;

/** The error responses every mutating JSON route can give. */
export const bodyErrors = {
  400: errors[400],
  401: errors[401],
  413: errors[413],
  415: errors[415],
  422: errors[422],
} as const;

export const IdParams = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'id', in: 'path' }, example: '0f8b6c1e-3a52-4e0b-9d57-2f3c1b6a9e10' }),
});

const DURATION_TEXT = /^\s*(\d+(\.\d+)?(ms|s|m|h|d))+\s*$|^\s*\d+(\.\d+)?\s*$/;

/**
 * A duration given as text ("90s", "10m", "1h30m") or as seconds; becomes milliseconds. Must be above 0
 * and at most `maxMs` (MAX_DURATION), which the message names.
 */
export function durationSchema(maxMs: number, what = '') {
  return z
    .union([
      z.string().max(64).regex(DURATION_TEXT, 'a duration such as "90s", "10m", "1h" or "1h30m"'),
      z.number().gt(0, 'a duration in seconds > 0'),
    ])
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms <= 0) {
        ctx.addIssue({ code: 'custom', input: value, message: 'a duration > 0' });
        return z.NEVER;
      }
      if (ms > maxMs) {
        ctx.addIssue({
          code: 'custom',
          input: value,
          message: `a duration of at most MAX_DURATION=${formatDuration(maxMs)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .openapi({
      description: `${what}"90s", "10m", "1h", "1h30m" or a number of seconds; above 0 and at most ${formatDuration(maxMs)} (MAX_DURATION)`,
      example: '90s',
    });
}

/** ISO 8601 time, or null when it has not happened. */
export const isoTime = z.string().openapi({ example: '2026-01-01T12:00:00.000Z' });

export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
