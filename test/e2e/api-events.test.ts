/**
 * GET /api/v1/events: the lifecycle arrives in order, filtered by simulation, replayed after a reconnect
 * without gap or duplicate, and the same events reach the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { type ApiSimulator, call, runSimulation, startApiSimulator } from './api-helpers.ts';

interface SseEvent {
  id: number;
  event: string;
  data: Record<string, any>;
}

/** A live SSE connection: events are collected as they arrive until `close()`. */
interface SseClient {
  readonly events: SseEvent[];
  /** resolves with the first collected event matching `predicate` (bounded) */
  until(predicate: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const { promise: ready, resolve: connected } = Promise.withResolvers<void>();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith(': connected')) connected();
          const fields: Record<string, string> = {};
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) continue;
            const at = line.indexOf(':');
            fields[line.slice(0, at)] = (fields[line.slice(0, at)] ?? '') + line.slice(at + 2);
          }
          if (fields.data)
            events.push({
              id: Number(fields.id),
              event: fields.event ?? 'message',
              data: JSON.parse(fields.data),
            });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  // the server writes ": connected" once it is subscribed; only then is nothing missed
  await ready;
  return {
    events,
    until: (predicate, timeoutMs = 10_000) =>
      waitFor('an SSE event', { timeoutMs: timeoutMs, everyMs: 20 }, () => events.find(predicate)),
    close: () => controller.abort(),
  };
}

const PROFILE = {
  name: 'api-events',
  templates: [{ name: 'evt-worker-{i}', count: 3, priority: 'medium', memory: 2 }],
};

describe('the event stream', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator();
  });
  after(async () => {
    await s.stop();
  });

  test('delivers a simulation lifecycle in order, and the same events reach the log', async () => {
    const stream = await connect(`${s.url}/api/v1/events`);
    try {
      const id = await runSimulation(s.url, { name: 'watched', type: PROFILE });
      await call(s.url, 'POST', `/api/v1/simulations/${id}/stop`);
      await stream.until((e) => e.event === 'SimulationStopped' && e.data.simulationId === id);
      const mine = stream.events.filter((e) => e.data.simulationId === id);
      const types = mine.map((e) => e.event);
      assert.deepEqual(types.slice(0, 2), ['SimulationCreated', 'SimulationStarted']);
      assert.deepEqual(types.slice(2, 5), ['ProcessStarted', 'ProcessStarted', 'ProcessStarted']);
      assert.equal(types.at(-1), 'SimulationStopped');
      assert.equal(types.filter((t) => t === 'ProcessExited').length, 3);
      assert.ok(
        types.lastIndexOf('ProcessExited') < types.indexOf('SimulationStopped'),
        'every process has exited before the stop is reported',
      );
      for (let i = 1; i < stream.events.length; i++) {
        assert.ok((stream.events[i] as SseEvent).id > (stream.events[i - 1] as SseEvent).id, 'ids increase');
      }
      for (const event of mine)
        assert.equal(event.id, event.data.seq, 'the SSE id is the event sequence number');
      for (const type of ['SimulationCreated', 'SimulationStarted', 'SimulationStopped']) {
        assert.ok(
          s.lines.some((line) => line.includes(type) && line.includes(id)),
          `${type} is in the log`,
        );
      }
    } finally {
      stream.close();
    }
  });

  test('?simulation= keeps one simulation and drops the others; completion is streamed', async () => {
    const created = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'short',
      type: PROFILE,
      duration: '1s',
    });
    const id: string = created.body.id;
    const filtered = await connect(`${s.url}/api/v1/events?simulation=${id}`);
    try {
      const other = await runSimulation(s.url, { name: 'noise', type: PROFILE });
      await call(s.url, 'POST', `/api/v1/simulations/${id}/start`);
      await filtered.until((e) => e.event === 'SimulationCompleted', 15_000);
      await call(s.url, 'POST', `/api/v1/simulations/${other}/stop`);
      assert.ok(filtered.events.length >= 1 + 3 + 3 + 1);
      assert.ok(
        filtered.events.every((e) => e.data.simulationId === id),
        'only the chosen simulation',
      );
      assert.equal(filtered.events[0]?.event, 'SimulationStarted');
    } finally {
      filtered.close();
    }
  });

  test('a client that reconnects with Last-Event-ID gets what it missed, once, then the live stream', async () => {
    const first = await connect(`${s.url}/api/v1/events`);
    const id = await runSimulation(s.url, { name: 'replayed', type: PROFILE });
    const started = await first.until((e) => e.event === 'SimulationStarted' && e.data.simulationId === id);
    first.close();
    // missed while disconnected
    await call(s.url, 'POST', `/api/v1/simulations/${id}/stop`);
    const second = await connect(`${s.url}/api/v1/events`, { 'Last-Event-ID': String(started.id) });
    try {
      await second.until((e) => e.event === 'SimulationStopped' && e.data.simulationId === id);
      assert.equal(second.events[0]?.id, started.id + 1, 'resumes right after the last event seen');
      const ids = second.events.map((e) => e.id);
      assert.deepEqual(
        ids,
        ids.map((_, i) => started.id + 1 + i),
        'no gap and no duplicate',
      );
      // and it is live after the replay
      const created = await call(s.url, 'POST', '/api/v1/simulations', {
        name: 'after-replay',
        type: PROFILE,
      });
      await second.until((e) => e.event === 'SimulationCreated' && e.data.simulationId === created.body.id);
    } finally {
      second.close();
    }
  });

  test('bad filters are refused with the error shape', async () => {
    const bad = await call(s.url, 'GET', '/api/v1/events?since=abc');
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.issues[0].field, 'since');
    const badHeader = await call(s.url, 'GET', '/api/v1/events', undefined, { 'Last-Event-ID': 'x1' });
    assert.equal(badHeader.status, 422);
  });
});
