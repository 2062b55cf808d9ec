/**
 * Pipeline verification: run one against a Prometheus query API or the simulator's OTLP sink (the same
 * report as `process-simulator verify`), read or hand over the last report (the dashboard shows it),
 * read the ground truth a verifier elsewhere compares with, and the sink's status.
 */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { SourceError } from '../../verify/errors.ts';
import { toExpectations, validateExpectations } from '../../verify/expectations.ts';
import type { Report } from '../../verify/report.ts';
import { runVerification, type VerifySource } from '../../verify/run.ts';
import { observePrometheus } from '../../verify/sources/prometheus.ts';
import type { AppContext, VerificationContext } from '../context.ts';
import { ApiError, validationHook } from '../errors.ts';
import { bodyErrors, errors, IdParams } from '../schemas/common.ts';
import {
  GroundTruthDocument,
  LastReport,
  SinkStatus,
  VerifyReport,
  verifySchemas,
} from '../schemas/verify.ts';

/** A Prometheus request from the API waits at most this long: a request must not hang on a bad URL. */
const API_SOURCE_TIMEOUT_MS = 10_000;

export function verifyRoutes(context: AppContext, security: Array<Record<string, string[]>> | undefined) {
  const { engine } = context;
  const { VerifyRequest, TruthQuery } = verifySchemas({ maxDurationMs: context.limits.maxDurationMs });
  const json = <T extends z.ZodType>(schema: T, description: string) => ({
    description,
    content: { 'application/json': { schema } },
  });
  const tags = ['verification'];
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const verification = (): VerificationContext => {
    if (!context.verification)
      throw new ApiError(503, 'unavailable', 'pipeline verification is not set up in this simulator');
    return context.verification;
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/simulations/{id}/verify',
      operationId: 'verifySimulation',
      tags,
      security,
      summary: 'Verify a pipeline against this simulation’s ground truth',
      description:
        'Reads what the pipeline delivered (a Prometheus-compatible query API, or the OTLP sink this simulator runs), compares it with what the simulation produced under the expectations, and answers the report (200 whether it passed or failed; `verdict` says which). With `wait`, retries until it passes or the time is up. The report becomes the last one of the simulation.',
      request: {
        params: IdParams,
        body: { content: { 'application/json': { schema: VerifyRequest } }, required: true },
      },
      responses: {
        200: json(VerifyReport, 'The report'),
        ...bodyErrors,
        404: errors[404],
        409: errors[409],
        503: errors[503],
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const verify = verification();
      engine.getSimulation(id);
      let source: VerifySource;
      if (body.source.type === 'prometheus') {
        const { url, selector } = body.source;
        source = {
          naming: 'prometheus',
          observe: (request) =>
            observePrometheus({ url, selector, timeoutMs: API_SOURCE_TIMEOUT_MS }, { ...request }),
        };
      } else {
        const sink = verify.sink;
        if (!sink)
          throw new SourceError(
            'unavailable',
            'otlp-sink',
            'this simulator runs no OTLP sink: start it with OTLP_SINK_GRPC_PORT and/or OTLP_SINK_HTTP_PORT',
          );
        source = {
          naming: 'otlp',
          observe: async (request) =>
            sink.store.observe({
              metrics: request.metrics,
              freshMs: request.freshMs,
              location: sink.location,
            }),
        };
      }
      const report = await runVerification({
        truth: (request) => verify.truth(id, request),
        source,
        expectations: body.expectations
          ? toExpectations(body.expectations, 'request')
          : validateExpectations(undefined),
        host: verify.host,
        waitMs: body.wait ?? 0,
        retryUnreachable: false,
      });
      verify.reports.set(id, report);
      return c.json(report, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations/{id}/verification',
      operationId: 'getVerification',
      tags,
      summary: 'The last verification report of a simulation (null before the first)',
      request: { params: IdParams },
      responses: {
        200: json(LastReport, 'The last report, or null'),
        404: errors[404],
        422: errors[422],
        503: errors[503],
      },
    }),
    (c) => {
      const { id } = c.req.valid('param');
      engine.getSimulation(id);
      return c.json({ simulation_id: id, report: verification().reports.get(id) ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/simulations/{id}/verification',
      operationId: 'putVerification',
      tags,
      security,
      summary: 'Hand over a report made elsewhere (by `process-simulator verify`) as the last one',
      request: {
        params: IdParams,
        body: { content: { 'application/json': { schema: VerifyReport } }, required: true },
      },
      responses: { 204: { description: 'Kept' }, ...bodyErrors, 404: errors[404], 503: errors[503] },
    }),
    (c) => {
      const { id } = c.req.valid('param');
      const report = c.req.valid('json') as Report;
      engine.getSimulation(id);
      if (report.simulation.id !== id) {
        throw new ApiError(422, 'validation_failed', 'the report is about another simulation', {
          issues: [{ field: 'simulation.id', in: 'body', value: report.simulation.id, expected: id }],
        });
      }
      verification().reports.set(id, report);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/simulations/{id}/ground-truth',
      operationId: 'getGroundTruth',
      tags,
      summary: 'What the simulation produced, for a verifier elsewhere',
      description:
        'Takes a fresh /proc reading of every live process and answers it with the recent readings (from `since` on), each process’s identity and the newest exits. `process-simulator verify` reads it, so that it can compare and map PIDs from the collector’s side of a PID namespace.',
      request: { params: IdParams, query: TruthQuery },
      responses: {
        200: json(GroundTruthDocument, 'The ground truth'),
        404: errors[404],
        422: errors[422],
        503: errors[503],
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const query = c.req.valid('query');
      const truth = await verification().truth(id, {
        sinceMs: query.since === undefined ? Date.now() - 60_000 : Number(query.since),
        processes: query.processes !== 'false',
      });
      return c.json(truth, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/otlp-sink',
      operationId: 'getOtlpSink',
      tags,
      summary: 'The OTLP sink: where it listens and what it received',
      responses: { 200: json(SinkStatus, 'The sink'), 409: errors[409], 503: errors[503] },
    }),
    (c) => {
      const sink = verification().sink;
      if (!sink)
        throw new ApiError(
          409,
          'sink_not_running',
          'this simulator runs no OTLP sink: start it with OTLP_SINK_GRPC_PORT and/or OTLP_SINK_HTTP_PORT',
        );
      const stats = sink.store.stats();
      return c.json(
        {
          location: sink.location,
          requests: stats.requests,
          points: stats.points,
          series: stats.series,
          processes: stats.processes,
          overflow: stats.overflow,
          since: new Date(stats.sinceMs).toISOString(),
        },
        200,
      );
    },
  );

  return app;
}
