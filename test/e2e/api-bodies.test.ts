/**
 * Request bodies over real HTTP: nesting around the limit and far past it is a 4xx (it was a 500 at
 * 5,000 levels), a key given twice anywhere is 422 naming the key and its path, and what an error
 * echoes of a deep or huge value is bounded. /health answers the simulator's state.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../../src/api/app.ts';
import type { ApiState } from '../../src/api/context.ts';
import { MAX_NESTING_DEPTH } from '../../src/config/defaults.ts';
import { Engine } from '../../src/engine/engine.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { seriesPerProcess } from '../../src/simulator.ts';
import { initialExportStatus } from '../../src/telemetry/telemetry.ts';
import { type ApiSimulator, call, startApiSimulator } from './api-helpers.ts';

/** `depth` levels of containers around 1, each an array or an object with one key. */
function nestedText(kinds: ReadonlyArray<'array' | 'object'>): string {
  let text = '1';
  for (const kind of [...kinds].reverse()) text = kind === 'array' ? `[${text}]` : `{"k":${text}}`;
  return text;
}

describe('request bodies', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator({ API_BODY_LIMIT: '1MiB' });
  });
  after(async () => {
    await s.stop();
  });
  const post = (path: string, text: string) => call(s.url, 'POST', path, text);

  test('nesting up to 32 levels reaches validation (422 validation_failed); one more is 422 nesting_too_deep', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_NESTING_DEPTH - 3, max: MAX_NESTING_DEPTH + 3 }),
        fc.array(fc.constantFrom<'array' | 'object'>('array', 'object'), {
          minLength: MAX_NESTING_DEPTH + 3,
          maxLength: MAX_NESTING_DEPTH + 3,
        }),
        fc.constantFrom('/api/v1/simulations', '/api/v1/chaos/cpu-spike', '/api/v1/chaos/process-kill'),
        async (depth, kinds, path) => {
          // the body is an object holding the nested value under an unknown key: one level of its own
          const body = `{"name":"x","type":"realistic","extra":${nestedText(kinds.slice(0, depth - 1))}}`;
          const answer = await post(path, body);
          assert.equal(answer.status, 422, JSON.stringify(answer.body));
          const expected = depth <= MAX_NESTING_DEPTH ? 'validation_failed' : 'nesting_too_deep';
          assert.equal(answer.body.error.code, expected, `depth ${depth}: ${JSON.stringify(answer.body)}`);
          if (expected === 'nesting_too_deep') {
            assert.equal(answer.body.error.details.limit, MAX_NESTING_DEPTH);
            assert.match(answer.body.error.message, /deeper than 32 levels \(line 1, column \d+\)/);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('5,000 and 100,000 levels: 422, not a 500, and the simulator carries on', async () => {
    for (const depth of [5_000, 100_000]) {
      for (const kind of ['[', '{"a":'] as const) {
        const text = `${kind.repeat(depth)}1${(kind === '[' ? ']' : '}').repeat(depth)}`;
        const answer = await post('/api/v1/simulations', text);
        assert.equal(answer.status, 422, `${kind} x ${depth}`);
        assert.equal(answer.body.error.code, 'nesting_too_deep');
        assert.equal(answer.body.error.issues[0].field.split('.').length, MAX_NESTING_DEPTH);
      }
    }
    assert.equal((await call(s.url, 'GET', '/health')).status, 200);
    assert.ok(!s.lines.some((line) => /failed unexpectedly/.test(line)), s.lines.join(''));
  });

  test('a deep or huge value inside the limit is echoed bounded in the 422', async () => {
    const wide = {
      name: 'x',
      type: 'realistic',
      parameters: { seed: Array.from({ length: 2000 }, (_, i) => `v${i}`.repeat(50)) },
    };
    const answer = await post('/api/v1/simulations', JSON.stringify(wide));
    assert.equal(answer.status, 422);
    const issue = answer.body.error.issues.find((i: { field: string }) => i.field === 'parameters.seed');
    assert.ok(issue, JSON.stringify(answer.body).slice(0, 500));
    assert.ok(JSON.stringify(issue.value).length < 10_000, 'the echo is bounded');
    const longKey = 'k'.repeat(100_000);
    const unknown = await post(
      '/api/v1/simulations',
      JSON.stringify({ name: 'x', type: 'realistic', [longKey]: 1 }),
    );
    assert.equal(unknown.status, 422);
    assert.ok(JSON.stringify(unknown.body).length < 10_000, 'a long unknown key is cut');
  });

  test('a key given twice at any depth and position is 422 duplicate_key naming the key and its path', async () => {
    const valid = {
      name: 'dup',
      type: {
        name: 'p',
        templates: [{ name: 'a', count: 1, priority: 'low', cpu: { pattern: 'steady', value: 1 } }],
      },
      duration: '5s',
      parameters: { seed: 1, chaos: { failures_per_minute: 1 } },
    };
    const objects: Array<{ path: Array<string | number>; keys: string[] }> = [];
    const walk = (value: unknown, path: Array<string | number>) => {
      if (Array.isArray(value)) value.forEach((child, i) => void walk(child, [...path, i]));
      else if (value && typeof value === 'object') {
        objects.push({ path, keys: Object.keys(value) });
        for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
      }
    };
    walk(valid, []);
    /** JSON of `valid` with `key` written again at position `at` of the object at `path`. */
    const write = (
      value: unknown,
      here: Array<string | number>,
      path: Array<string | number>,
      key: string,
      at: number,
    ): string => {
      if (Array.isArray(value))
        return `[${value.map((child, i) => write(child, [...here, i], path, key, at)).join(',')}]`;
      if (!value || typeof value !== 'object') return JSON.stringify(value);
      const entries = Object.entries(value).map(
        ([k, child]) => `${JSON.stringify(k)}:${write(child, [...here, k], path, key, at)}`,
      );
      if (JSON.stringify(here) === JSON.stringify(path))
        entries.splice(at % (entries.length + 1), 0, `${JSON.stringify(key)}:null`);
      return `{${entries.join(',')}}`;
    };
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), async (which, keyIndex, at) => {
        const { path, keys } = objects[which % objects.length] as (typeof objects)[number];
        const key = keys[keyIndex % keys.length] as string;
        const answer = await post('/api/v1/simulations', write(valid, [], path, key, at));
        assert.equal(answer.status, 422, JSON.stringify(answer.body));
        assert.equal(answer.body.error.code, 'duplicate_key');
        assert.equal(answer.body.error.issues[0].field, [...path, key].join('.'));
        assert.equal(answer.body.error.issues[0].value, key);
        assert.match(answer.body.error.message, new RegExp(`gives the key "${key}" twice`));
      }),
      { numRuns: 60 },
    );
    assert.equal(s.sim.engine.listSimulations().length, 0, 'nothing was created');
    // the same body once, without the duplicate, is accepted: the refusal is for the duplicate alone
    const created = await post('/api/v1/simulations', JSON.stringify(valid));
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  test('malformed JSON is 400 naming line and column, quoting nothing of the body', async () => {
    const answer = await post('/api/v1/simulations', '{\n  "name": "x",\n  "type": SECRET-VALUE\n}');
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'malformed_json');
    assert.match(answer.body.error.message, /at line 3, column 11$/);
    assert.ok(!JSON.stringify(answer.body).includes('SECRET'));
  });

  test('a client that goes away while its body is read is no failure of the simulator, which carries on', async () => {
    const { hostname, port } = new URL(s.url);
    const before = s.lines.length;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/simulations', '/api/v1/chaos/cpu-spike', '/api/v1/verify'),
        fc.integer({ min: 2, max: 64 * 1024 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.constantFrom('end', 'destroy'),
        async (path, length, part, how) => {
          // The head promises `length` bytes; the client sends part of them and goes away.
          const sent = Math.floor(length * part);
          const socket = connect(Number(port), hostname);
          await once(socket, 'connect');
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${length}\r\n\r\n${'['.repeat(sent)}`,
          );
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (how === 'end') {
            // Half-closed: the server sees the end of a body cut short (it may answer, or keep the
            // connection); the client then goes away for good.
            socket.end();
            await Promise.race([once(socket, 'close'), new Promise((resolve) => setTimeout(resolve, 50))]);
          }
          socket.destroy();
        },
      ),
      { numRuns: 40 },
    );
    const answer = await call(s.url, 'GET', '/health');
    assert.equal(answer.status, 200, 'the simulator answers after them');
    const logged = s.lines.slice(before).filter((line) => /failed unexpectedly|error/i.test(line));
    assert.deepEqual(logged, [], 'a client gone mid-body is not logged as a failure');
  });
});

describe('/health', () => {
  test('answers ok with 200, starting and stopping with 503, from the state the simulator gives', async () => {
    const engine = new Engine();
    try {
      let state: ApiState = 'starting';
      const base = {
        engine,
        snapshots: new SnapshotStore(),
        exportStatus: initialExportStatus(undefined),
        endpoints: { metrics: undefined, otlp: undefined },
        seriesPerProcess: seriesPerProcess(false),
        limits: { maxDurationMs: 60_000, bodyLimitBytes: 65_536 },
      };
      const app = createApp({ ...base, state: () => state });
      for (const [now, status] of [
        ['starting', 503],
        ['ok', 200],
        ['stopping', 503],
      ] as const) {
        state = now;
        const response = await app.request('/health');
        assert.equal(response.status, status, now);
        assert.deepEqual(await response.json(), { status: now, live_processes: 0 });
      }
      // the older ready() flag: false is only ever set while stopping
      let ready = true;
      const legacy = createApp({ ...base, ready: () => ready });
      assert.equal((await legacy.request('/health')).status, 200);
      ready = false;
      const stopping = await legacy.request('/health');
      assert.equal(stopping.status, 503);
      assert.equal(((await stopping.json()) as { status: string }).status, 'stopping');
    } finally {
      await engine.shutdown();
    }
  });
});
