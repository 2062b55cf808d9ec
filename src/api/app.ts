/**
 * The HTTP control surface (Hono). Talks only to the engine's public surface and to read-only status.
 */
import { Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { builtinProfileNames } from '../profiles/load.ts';
import type { ExportStatus } from '../telemetry/telemetry.ts';
import { VERSION } from '../version.ts';

export interface AppContext {
  engine: Engine;
  /** true once the exporters are set up */
  ready: () => boolean;
  exportStatus: ExportStatus;
  endpoints: { metrics: string | undefined; otlp: string | undefined };
}

export function createApp(context: AppContext): Hono {
  const { engine } = context;
  const app = new Hono();
  app.get('/health', (c) => {
    const ready = context.ready();
    return c.json({ status: ready ? 'ok' : 'starting', processes: engine.liveCount }, ready ? 200 : 503);
  });
  app.get('/info', (c) =>
    c.json({
      name: 'process-simulator',
      version: VERSION,
      worker: engine.workerKind,
      profiles: builtinProfileNames(),
      limits: { maxProcesses: engine.maxProcesses },
      processes: engine.liveCount,
      simulations: engine.listSimulations().map((simulation) => ({
        id: simulation.id,
        name: simulation.spec.name,
        profile: simulation.spec.profile.name,
        state: simulation.state,
        seed: simulation.spec.seed,
        processes: simulation.processes.size,
        planned: simulation.planned.length,
        warning: simulation.rampWarning,
      })),
      exporters: {
        prometheus: { endpoint: context.endpoints.metrics },
        otlp: { ...context.exportStatus, endpoint: context.endpoints.otlp },
      },
    }),
  );
  return app;
}
