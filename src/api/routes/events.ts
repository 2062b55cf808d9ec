/**
 * GET /events: the event bus as Server-Sent Events. Each event's `id` is its sequence number, so a
 * client that reconnects with Last-Event-ID (or ?since=) gets what it missed from the bus's history,
 * then the live stream, with no gap and no duplicate.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { TimedEvent } from '../../engine/events.ts';
import type { AppContext } from '../context.ts';
import { validationHook } from '../errors.ts';
import { errors } from '../schemas/common.ts';

/** A client that reads nothing while this many events pile up is dropped instead of growing memory. */
const MAX_QUEUED = 10_000;
/** Comment lines keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

const EventsQuery = z.strictObject({
  simulation: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({ param: { name: 'simulation', in: 'query' }, description: 'only events of this simulation' }),
  since: z
    .string()
    .regex(/^\d{1,15}$/, 'a sequence number (digits)')
    .optional()
    .openapi({
      param: { name: 'since', in: 'query' },
      description: 'replay kept events after this sequence number (like Last-Event-ID)',
    }),
});

const EventsHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^\d{1,15}$/, 'the id of the last event received (digits)')
    .optional()
    .openapi({
      param: { name: 'last-event-id', in: 'header' },
      description: 'replay kept events after this one',
    }),
});

export function eventRoutes(context: AppContext) {
  const bus = context.engine.events;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/events',
      operationId: 'streamEvents',
      tags: ['events'],
      summary: 'Lifecycle, process and chaos events as Server-Sent Events',
      description:
        'Event names: SimulationCreated, SimulationStarted, SimulationStopped, SimulationCompleted, SimulationFailed, RampStopped, ProcessStarted, ProcessExited, ChaosStarted, ChaosEnded, ChaosRefused. `data` is the event as JSON, `id` its sequence number.',
      request: { query: EventsQuery, headers: EventsHeaders },
      responses: {
        200: {
          description: 'An endless event stream',
          content: { 'text/event-stream': { schema: z.string() } },
        },
        422: errors[422],
      },
    }),
    (c) => {
      const { simulation, since } = c.req.valid('query');
      const lastId = c.req.valid('header')['last-event-id'] ?? since;
      const wanted = (event: TimedEvent) =>
        simulation === undefined || ('simulationId' in event && event.simulationId === simulation);
      return streamSSE(c, async (stream) => {
        const queue: TimedEvent[] = [];
        let wake: (() => void) | undefined;
        let closed = false;
        const unsubscribe = bus.subscribe((event) => {
          if (closed || !wanted(event)) return;
          queue.push(event);
          if (queue.length > MAX_QUEUED) {
            // a client that stopped reading: our write is stuck on its backpressure, so end it here
            closed = true;
            queue.length = 0;
            stream.abort();
          }
          wake?.();
        });
        stream.onAbort(() => {
          closed = true;
          wake?.();
        });
        try {
          // Subscribed before reading the history, so nothing emitted in between is lost; `sent`
          // drops what both would deliver.
          let sent = lastId === undefined ? (bus.history().at(-1)?.seq ?? 0) : Number(lastId);
          if (lastId !== undefined) {
            const kept = bus.history();
            const oldest = kept[0]?.seq;
            if (oldest !== undefined && oldest > sent + 1) {
              await stream.write(`: events ${sent + 1} to ${oldest - 1} are no longer kept\n\n`);
            }
            for (const event of kept) {
              if (event.seq <= sent || !wanted(event)) continue;
              await stream.writeSSE({
                id: String(event.seq),
                event: event.type,
                data: JSON.stringify(event),
              });
              sent = event.seq;
            }
          }
          await stream.write(': connected\n\n');
          while (!closed) {
            const event = queue.shift();
            if (event) {
              if (event.seq > sent) {
                await stream.writeSSE({
                  id: String(event.seq),
                  event: event.type,
                  data: JSON.stringify(event),
                });
                sent = event.seq;
              }
              continue;
            }
            const idle = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(true), HEARTBEAT_MS);
              timer.unref();
              wake = () => {
                clearTimeout(timer);
                resolve(false);
              };
            });
            wake = undefined;
            if (idle && !closed) await stream.write(': heartbeat\n\n');
          }
        } finally {
          unsubscribe();
        }
      });
    },
  );
  return app;
}
