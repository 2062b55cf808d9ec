/**
 * The HTTP control surface (Hono): /health and /info, the resources under /api/v1, /openapi.json
 * generated from the route schemas, and for people /docs and the live dashboard at `/`. Talks only to
 * the engine's public surface and read-only status; every failure leaves through the one error shape of
 * errors.ts.
 *
 * Every request, whatever its path, passes in order: the Host check and, for changing requests, the
 * origin check (access.ts), then the bearer token (auth.ts); under /api/v1 the body limit and the strict
 * JSON reading (json-body.ts) come next, then the route's own validation.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { VERSION } from '../version.ts';
import { hostCheck, originCheck } from './access.ts';
import { requireToken } from './auth.ts';
import type { AppContext } from './context.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { DOCS_PAGE } from './docs-page.ts';
import { ApiError, errorHandler, notFoundHandler, validationHook } from './errors.ts';
import { strictJsonBody } from './json-body.ts';
import { chaosRoutes } from './routes/chaos.ts';
import { eventRoutes } from './routes/events.ts';
import { simulationRoutes } from './routes/simulations.ts';
import { systemRoutes } from './routes/system.ts';
import { verifyRoutes } from './routes/verify.ts';

export type { AppContext } from './context.ts';

/** Prefix of the resource routes. */
export const API_PREFIX = '/api/v1';

export function createApp(context: AppContext): OpenAPIHono {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.onError(
    errorHandler((error) =>
      context.log?.error('API request failed unexpectedly', {
        error: (error as Error)?.stack ?? String(error),
      }),
    ),
  );
  app.notFound(notFoundHandler);

  app.use('*', hostCheck(context.access));
  app.use('*', originCheck());
  app.use('*', requireToken(context.apiToken));
  const limit = context.limits.bodyLimitBytes;
  app.use(
    `${API_PREFIX}/*`,
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new ApiError(
          413,
          'body_too_large',
          `the request body is larger than API_BODY_LIMIT=${limit} bytes`,
          {
            details: { limit: 'API_BODY_LIMIT', value: limit },
          },
        );
      },
    }),
  );
  app.use(`${API_PREFIX}/*`, strictJsonBody());
  const security = context.apiToken ? [{ bearer: [] as string[] }] : undefined;
  if (context.apiToken) {
    app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'API_TOKEN',
    });
  }

  // /health and /info stay at the root for probes (the container healthcheck) and sit under the prefix too.
  app.route('/', systemRoutes(context));
  app.route(API_PREFIX, systemRoutes(context, true));
  app.route(API_PREFIX, simulationRoutes(context, security));
  app.route(API_PREFIX, chaosRoutes(context, security));
  app.route(API_PREFIX, eventRoutes(context));
  app.route(API_PREFIX, verifyRoutes(context, security));

  let document: unknown;
  app.get('/openapi.json', (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'process-simulator control API',
        version: VERSION,
        description:
          'Creates and runs simulations of real, named Linux processes, injects chaos into them (and only them), and streams what happens. Errors share one JSON shape naming the field, the value and what was expected.',
      },
      tags: [
        {
          name: 'simulations',
          description: 'Runs of a profile: lifecycle, live processes, ground-truth results',
        },
        { name: 'chaos', description: "Faults on the simulator's own processes, chosen by name pattern" },
        { name: 'events', description: 'Server-Sent Events of the in-process event bus' },
        { name: 'system', description: 'Readiness and information' },
      ],
    });
    withAccessErrors(document as OpenApiDocument);
    return c.json(document);
  });
  app.get('/docs', (c) => c.html(DOCS_PAGE));
  app.route('/', dashboardRoutes());
  return app;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
}

/**
 * The answers every operation can give before its route runs (access.ts), added to each operation of
 * the document here so that a route added later is documented with them too.
 */
function withAccessErrors(document: OpenApiDocument): void {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      if (!operation.responses) continue;
      operation.responses['400'] ??= error('No Host header');
      operation.responses['403'] ??= error(
        'The Host header names a host this API does not answer for (ALLOWED_HOSTS), or a browser sent a changing request from another origin',
      );
    }
  }
}
