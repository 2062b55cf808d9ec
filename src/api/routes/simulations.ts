/**
 * /simulations: create, list, read, start, stop, delete, live processes, exits and results. Each handler
 * validates (schemas), makes one engine call and shapes the answer (views).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { EngineError } from '../../engine/errors.ts';
import { EXIT_REASONS, type Simulation, TIMELINE_LIMIT } from '../../engine/simulation.ts';
import { builtinProfile } from '../../profiles/load.ts';
import { scaleProfile } from '../../profiles/plan.ts';
import { randomSeed } from '../../profiles/random.ts';
import type { Profile } from '../../profiles/schema.ts';
import type { AppContext } from '../context.ts';
import { validationHook } from '../errors.ts';
import { bodyErrors, errors, IdParams } from '../schemas/common.ts';
import { ExitList, ProcessList, Results, simulationSchemas } from '../schemas/simulations.ts';
import { exitView, processView, resultsView, simulationView } from '../views.ts';

export function simulationRoutes(context: AppContext, security: Array<Record<string, string[]>> | undefined) {
  const { engine } = context;
  const {
    CreateSimulation,
    Simulation: SimulationSchema,
    ListQuery,
    StartQuery,
  } = simulationSchemas({
    maxProcesses: engine.maxProcesses,
    maxDurationMs: context.limits.maxDurationMs,
  });
  const json = <T extends z.ZodType>(schema: T, description: string) => ({
    description,
    content: { 'application/json': { schema } },
  });
  const tags = ['simulations'];
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/simulations',
      operationId: 'createSimulation',
      tags,
      security,
      summary: 'Create a simulation (not started)',
      description:
        'Refused with 422 when the processes would exceed MAX_PROCESSES (with the simulations running now) or what the machine can hold (pid_max, ulimit -u, MemAvailable).',
      request: { body: { content: { 'application/json': { schema: CreateSimulation } }, required: true } },
      responses: {
        201: {
          ...json(SimulationSchema, 'Created'),
          links: Object.fromEntries(
            [
              'getSimulation',
              'startSimulation',
              'stopSimulation',
              'listProcesses',
              'getResults',
              'deleteSimulation',
            ].map((operationId) => [operationId, { operationId, parameters: { id: '$response.body#/id' } }]),
          ),
        },
        ...bodyErrors,
        503: errors[503],
      },
    }),
    (c) => {
      const body = c.req.valid('json');
      const base: Profile = typeof body.type === 'string' ? builtinProfile(body.type) : body.type;
      const parameters = body.parameters ?? {};
      let profile = scaleProfile(base, parameters.process_count);
      if (parameters.chaos) profile = { ...profile, chaos: parameters.chaos };
      const simulation = engine.createSimulation({
        name: body.name,
        profile,
        seed: parameters.seed ?? randomSeed(),
        durationMs: body.duration,
        chaos: parameters.enable_chaos ?? profile.chaos !== undefined,
      });
      c.header('Location', `/api/v1/simulations/${simulation.id}`);
      return c.json(simulationView(simulation), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations',
      operationId: 'listSimulations',
      tags,
      summary: 'List simulations',
      request: { query: ListQuery },
      responses: {
        200: json(
          z.object({ simulations: z.array(SimulationSchema) }).openapi('SimulationList'),
          'Simulations, oldest first',
        ),
        422: errors[422],
      },
    }),
    (c) => {
      const { status } = c.req.valid('query');
      const simulations = engine
        .listSimulations()
        .filter((simulation) => status === undefined || simulation.state === status);
      return c.json({ simulations: simulations.map(simulationView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations/{id}',
      operationId: 'getSimulation',
      tags,
      summary: 'One simulation',
      request: { params: IdParams },
      responses: { 200: json(SimulationSchema, 'The simulation'), 404: errors[404], 422: errors[422] },
    }),
    (c) => c.json(simulationView(engine.getSimulation(c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/simulations/{id}/start',
      operationId: 'startSimulation',
      tags,
      security,
      summary: 'Start a created simulation',
      description:
        'Checks the limits, then spawns the processes in the background and answers 202 (state starting); with wait=true answers 200 once the ramp is over.',
      request: { params: IdParams, query: StartQuery },
      responses: {
        200: json(SimulationSchema, 'Started; every process spawned (wait=true)'),
        202: json(SimulationSchema, 'Accepted; processes are being spawned'),
        401: errors[401],
        404: errors[404],
        409: errors[409],
        422: errors[422],
        503: errors[503],
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { wait } = c.req.valid('query');
      // Synchronous checks first, so a refusal is this request's answer, not a later event.
      engine.assertCanStart(id);
      const ramp = engine.startSimulation(id);
      if (wait === 'true') return c.json(simulationView(await ramp), 200);
      ramp.catch((error: Error) =>
        context.log?.warn('simulation start failed', { simulation: id, error: error.message }),
      );
      return c.json(simulationView(engine.getSimulation(id)), 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/simulations/{id}/stop',
      operationId: 'stopSimulation',
      tags,
      security,
      summary: 'Stop a simulation',
      description:
        'Ends every process (SIGTERM, SIGKILL after a grace period) and answers once all are reaped. Stopping an ended simulation changes nothing.',
      request: { params: IdParams },
      responses: {
        200: json(SimulationSchema, 'Stopped'),
        401: errors[401],
        404: errors[404],
        409: errors[409],
        422: errors[422],
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const simulation = engine.getSimulation(id);
      if (simulation.state === 'created') throwNotStarted(simulation);
      return c.json(simulationView(await engine.stopSimulation(id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/simulations/{id}',
      operationId: 'deleteSimulation',
      tags,
      security,
      summary: 'Forget a simulation that is not running',
      request: { params: IdParams },
      responses: {
        204: { description: 'Deleted' },
        401: errors[401],
        404: errors[404],
        409: errors[409],
        422: errors[422],
      },
    }),
    (c) => {
      engine.deleteSimulation(c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations/{id}/processes',
      operationId: 'listProcesses',
      tags,
      summary: 'Live processes with their latest /proc reading',
      request: { params: IdParams },
      responses: {
        200: json(ProcessList, 'Live processes, oldest first'),
        404: errors[404],
        422: errors[422],
      },
    }),
    (c) => {
      const { id } = c.req.valid('param');
      const snapshot = context.snapshots.latest().processes;
      const processes = engine.processesOf(id).flatMap((info) => {
        const truth = engine.groundTruthOf(info.pid);
        return truth ? [processView(info, snapshot.get(info.pid), truth)] : [];
      });
      return c.json({ simulation_id: id, processes }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations/{id}/exits',
      operationId: 'listExits',
      tags,
      summary: 'The newest exited processes, with what the sampler saw of each',
      description: `Per process: when it started and exited, why, and whether the sampler ever read it (and read its last counters right before the engine ended it). The newest ${TIMELINE_LIMIT} are listed; \`total\` counts them all.`,
      request: { params: IdParams },
      responses: { 200: json(ExitList, 'Exits, oldest first'), 404: errors[404], 422: errors[422] },
    }),
    (c) => {
      const simulation = engine.getSimulation(c.req.valid('param').id);
      const total = EXIT_REASONS.reduce(
        (sum, reason) => sum + Object.values(simulation.exits[reason]).reduce((a, b) => a + b, 0),
        0,
      );
      const exits = simulation.exitLog.list().slice(-TIMELINE_LIMIT);
      return c.json({ simulation_id: simulation.id, total, exits: exits.map(exitView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations/{id}/results',
      operationId: 'getResults',
      tags,
      summary: 'Ground truth for a pipeline test',
      description:
        'Processes started and exited by reason and priority, current and peak series per metric and priority, churn per minute, and the chaos timeline with the PIDs hit.',
      request: { params: IdParams },
      responses: { 200: json(Results, 'Results so far'), 404: errors[404], 422: errors[422] },
    }),
    (c) =>
      c.json(
        resultsView(engine.getSimulation(c.req.valid('param').id), context.seriesPerProcess, Date.now()),
        200,
      ),
  );

  return app;
}

function throwNotStarted(simulation: Simulation): never {
  throw new EngineError('conflict', `simulation ${simulation.id} was never started; delete it instead`, {
    state: simulation.state,
  });
}
