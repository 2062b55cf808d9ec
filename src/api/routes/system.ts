/**
 * /health and /info: readiness for probes, and what this simulator is, what it may do and how its
 * exports are going.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { readMachineLimits } from '../../engine/limits.ts';
import { builtinProfileNames } from '../../profiles/load.ts';
import { formatDuration } from '../../profiles/units.ts';
import { VERSION } from '../../version.ts';
import { type AppContext, apiState } from '../context.ts';
import { validationHook } from '../errors.ts';

const Health = z
  .object({
    status: z
      .enum(['ok', 'starting', 'stopping'])
      .openapi({ description: 'ok (200); starting or stopping (503)' }),
    live_processes: z.number().int(),
  })
  .openapi('Health');

const finite = (value: number) => (Number.isFinite(value) ? value : null);

const Info = z
  .object({
    name: z.string(),
    version: z.string(),
    worker: z.enum(['native', 'node']),
    process: z
      .object({
        pid: z.number().int(),
        node: z.string(),
        exec_argv: z.array(z.string()),
      })
      .openapi({
        description: 'the engine process: its PID (the parent of every simulated process) and its Node',
      }),
    profiles: z.array(z.string()),
    limits: z.object({
      max_processes: z.number().int(),
      max_duration: z.string(),
      max_duration_ms: z.number().int(),
      body_limit_bytes: z.number().int(),
      auth_required: z
        .boolean()
        .openapi({ description: 'mutating requests need a bearer token (API_TOKEN)' }),
      machine: z.object({
        pid_max: z.number().int(),
        max_user_processes: z
          .number()
          .int()
          .nullable()
          .openapi({ description: 'ulimit -u; null = unlimited' }),
        mem_available_bytes: z.number().int().nullable(),
        max_open_files: z.number().int().nullable(),
        max_open_files_per_process: z
          .number()
          .int()
          .nullable()
          .openapi({ description: 'ulimit -Hn: the most fds one simulated process may hold' }),
        cpus: z.number().openapi({ description: 'CPUs the simulator may use (affinity and cgroup quota)' }),
      }),
    }),
    live_processes: z.number().int(),
    simulations: z.array(
      z.object({ id: z.string(), name: z.string(), state: z.string(), live_processes: z.number().int() }),
    ),
    exporters: z.object({
      prometheus: z.object({ endpoint: z.string().nullable() }),
      otlp: z.object({
        enabled: z.boolean(),
        endpoint: z.string().nullable(),
        last_attempt_at: z.string().nullable(),
        last_success_at: z.string().nullable(),
        last_error: z.string().nullable(),
        exports_ok: z.number().int(),
        exports_failed: z.number().int(),
        last_requests: z.number().int(),
        last_data_points: z.number().int(),
      }),
    }),
  })
  .openapi('Info');

/** `hidden`: served but left out of the document (the /api/v1 aliases of /health and /info). */
export function systemRoutes(context: AppContext, hidden = false) {
  const { engine } = context;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      operationId: 'health',
      hide: hidden,
      tags: ['system'],
      summary: 'Ready once the exporters are set up; 503 while starting or stopping',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: Health } } },
        503: {
          description: 'Not ready yet, or shutting down',
          content: { 'application/json': { schema: Health } },
        },
      },
    }),
    (c) => {
      const status = apiState(context);
      const body = { status, live_processes: engine.liveCount };
      return status === 'ok' ? c.json(body, 200) : c.json(body, 503);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/info',
      operationId: 'info',
      hide: hidden,
      tags: ['system'],
      summary: 'Version, profiles, limits, exporter endpoints and their last export status',
      responses: {
        200: { description: 'About this simulator', content: { 'application/json': { schema: Info } } },
      },
    }),
    (c) => {
      const machine = readMachineLimits();
      const status = context.exportStatus;
      return c.json(
        {
          name: 'process-simulator',
          version: VERSION,
          worker: engine.workerKind,
          process: { pid: process.pid, node: process.version, exec_argv: [...process.execArgv] },
          profiles: builtinProfileNames(),
          limits: {
            max_processes: engine.maxProcesses,
            max_duration: formatDuration(context.limits.maxDurationMs),
            max_duration_ms: context.limits.maxDurationMs,
            body_limit_bytes: context.limits.bodyLimitBytes,
            auth_required: Boolean(context.apiToken),
            machine: {
              pid_max: machine.pidMax,
              max_user_processes: finite(machine.maxUserProcesses),
              mem_available_bytes: finite(machine.memAvailableBytes),
              max_open_files: finite(machine.maxOpenFiles),
              max_open_files_per_process: finite(machine.maxOpenFilesHard),
              cpus: machine.cpus,
            },
          },
          live_processes: engine.liveCount,
          simulations: engine.listSimulations().map((simulation) => ({
            id: simulation.id,
            name: simulation.spec.name,
            state: simulation.state,
            live_processes: simulation.processes.size,
          })),
          exporters: {
            prometheus: { endpoint: context.endpoints.metrics ?? null },
            otlp: {
              enabled: context.endpoints.otlp !== undefined,
              endpoint: context.endpoints.otlp ?? null,
              last_attempt_at: status.lastAttemptAt ?? null,
              last_success_at: status.lastSuccessAt ?? null,
              last_error: status.lastError ?? null,
              exports_ok: status.ok,
              exports_failed: status.failed,
              last_requests: status.lastRequests,
              last_data_points: status.lastDataPoints,
            },
          },
        },
        200,
      );
    },
  );
  return app;
}
