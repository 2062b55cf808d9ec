/**
 * /chaos: CPU spikes, memory leaks and kills on the simulator's own processes, picked by name pattern.
 * The engine only ever acts on PIDs it spawned; the pattern is matched against those alone, so a
 * request cannot reach any other process on the machine.
 */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Engine } from '../../engine/engine.ts';
import type { ProcessInfo } from '../../engine/managed-process.ts';
import type { AppContext } from '../context.ts';
import { ApiError, validationHook } from '../errors.ts';
import { chaosSchemas, FaultList, FaultView } from '../schemas/chaos.ts';
import { bodyErrors, errors, IdParams } from '../schemas/common.ts';
import { faultView } from '../views.ts';

interface Target {
  process_pattern: string;
  simulation_id?: string | undefined;
  include_critical?: boolean | undefined;
}

/** The live processes a request targets, or 404 naming the pattern when none matches. */
function select(engine: Engine, target: Target): ProcessInfo[] {
  if (target.simulation_id !== undefined) engine.getSimulation(target.simulation_id);
  const processes = engine.selectProcesses(target.process_pattern, {
    simulationId: target.simulation_id,
    includeCritical: target.include_critical ?? false,
  });
  if (processes.length === 0) {
    throw new ApiError(
      404,
      'no_match',
      `no live simulated process matches process_pattern ${JSON.stringify(target.process_pattern)}`,
      {
        issues: [
          {
            field: 'process_pattern',
            in: 'body',
            value: target.process_pattern,
            expected:
              'the name of a live simulated process (* and ? wildcards; critical ones only by exact name or with include_critical)',
          },
        ],
      },
    );
  }
  return processes;
}

/**
 * The simulation all `processes` belong to, if they share one: the fault is then that simulation's and
 * ends with it, even when the request did not name it.
 */
function ownerOf(processes: readonly ProcessInfo[]): string | undefined {
  const owners = new Set(processes.map((p) => p.simulationId));
  return owners.size === 1 ? [...owners][0] : undefined;
}

/** PID -> name of every process a fault hit, from the simulations' chaos timelines. */
function namesOf(engine: Engine, faultId: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const simulation of engine.listSimulations()) {
    for (const record of simulation.chaos) {
      if (record.faultId !== faultId) continue;
      record.pids.forEach((pid, i) => {
        names.set(pid, record.names[i] ?? '?');
      });
    }
  }
  return names;
}

export function chaosRoutes(context: AppContext, security: Array<Record<string, string[]>> | undefined) {
  const { engine } = context;
  const { CpuSpike, MemoryLeak, ProcessKill } = chaosSchemas({
    maxProcesses: engine.maxProcesses,
    maxDurationMs: context.limits.maxDurationMs,
  });
  const json = <T extends z.ZodType>(schema: T, description: string) => ({
    description,
    content: { 'application/json': { schema } },
  });
  const tags = ['chaos'];
  const created = {
    201: {
      ...json(FaultView, 'The fault, with the PIDs it hit'),
      links: { recoverFault: { operationId: 'recoverFault', parameters: { id: '$response.body#/id' } } },
    },
    ...bodyErrors,
    404: errors[404],
  };
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const nameMap = (processes: ProcessInfo[]) => new Map(processes.map((p) => [p.pid, p.name]));
  /** A lasting fault (spike or leak) on the processes the body selects, as the view the API returns. */
  const inject = (
    body: Target & { duration: number },
    effect:
      | { kind: 'cpu-spike'; intensityPercent: number }
      | { kind: 'memory-leak'; leakBytesPerSecond: number },
  ) => {
    const processes = select(engine, body);
    const fault = engine.injectFault({
      ...effect,
      pids: new Set(processes.map((p) => p.pid)),
      durationMs: body.duration,
      simulationId: body.simulation_id ?? ownerOf(processes),
      origin: 'api',
    });
    return faultView(fault, nameMap(processes));
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/chaos/cpu-spike',
      operationId: 'cpuSpike',
      tags,
      security,
      summary: 'Raise the CPU of matching processes for a while',
      request: { body: { content: { 'application/json': { schema: CpuSpike } }, required: true } },
      responses: created,
    }),
    (c) => {
      const body = c.req.valid('json');
      return c.json(inject(body, { kind: 'cpu-spike', intensityPercent: body.intensity }), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/chaos/memory-leak',
      operationId: 'memoryLeak',
      tags,
      security,
      summary: 'Grow the RSS of matching processes at a rate for a while',
      description: 'Refused with 422 when the leak would take more than half of MemAvailable by its end.',
      request: { body: { content: { 'application/json': { schema: MemoryLeak } }, required: true } },
      responses: created,
    }),
    (c) => {
      const body = c.req.valid('json');
      return c.json(inject(body, { kind: 'memory-leak', leakBytesPerSecond: body.leak_rate }), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/chaos/process-kill',
      operationId: 'processKill',
      tags,
      security,
      summary: 'Kill matching processes (replaced if their template restarts them)',
      request: { body: { content: { 'application/json': { schema: ProcessKill } }, required: true } },
      responses: created,
    }),
    (c) => {
      const body = c.req.valid('json');
      const victims = select(engine, body).slice(0, body.count);
      const fault = engine.killProcesses(
        victims.map((p) => p.pid),
        body.signal,
        'api',
        body.simulation_id ?? ownerOf(victims),
      );
      return c.json(faultView(fault, nameMap(victims)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/chaos',
      operationId: 'listFaults',
      tags,
      summary: 'Active faults (spikes and leaks; kills are instant)',
      responses: { 200: json(FaultList, 'Active faults') },
    }),
    (c) =>
      c.json(
        { faults: engine.activeFaults().map((fault) => faultView(fault, namesOf(engine, fault.id))) },
        200,
      ),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/chaos/{id}',
      operationId: 'recoverFault',
      tags,
      security,
      summary: 'End a fault now; its processes return to their pattern',
      request: { params: IdParams },
      responses: {
        200: json(FaultView, 'The fault, ended'),
        401: errors[401],
        404: errors[404],
        422: errors[422],
      },
    }),
    (c) => {
      const { id } = c.req.valid('param');
      const names = namesOf(engine, id);
      const fault = engine.recoverFault(id);
      return c.json({ ...faultView(fault, names), ends_at: new Date().toISOString() }, 200);
    },
  );

  return app;
}
