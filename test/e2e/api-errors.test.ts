/**
 * Bad input gets the documented 4xx with one JSON shape naming the field, the value and what was
 * expected; never a 5xx, and never a half-spawned simulation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type ApiSimulator, call, startApiSimulator } from './api-helpers.ts';

type ErrorBody = {
  error: {
    status: number;
    code: string;
    message: string;
    issues: Array<{ field: string; in: string; value?: unknown; expected: string }>;
  };
};

function assertError(
  response: { status: number; body: unknown },
  status: number,
  code: string,
): ErrorBody['error'] {
  const body = response.body as ErrorBody;
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.status, status);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(Array.isArray(body.error.issues));
  return body.error;
}

const issueOf = (error: ErrorBody['error'], field: string) => {
  const issue = error.issues.find((i) => i.field === field);
  assert.ok(issue, `an issue names ${field}: ${JSON.stringify(error.issues)}`);
  return issue;
};

/** The most threads one template process may have (the profile schema's cap). */
const MAX_THREADS = 4096;
const PID_MAX = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
/** The fewest processes of MAX_THREADS threads that go past this host's pid_max, whatever it is. */
const PAST_PID_MAX = Math.floor(PID_MAX / MAX_THREADS) + 1;
/** The cap: 50, or enough for that run to reach the machine check (1025 at pid_max 4194304). */
const MAX_PROCESSES = Math.max(50, PAST_PID_MAX);

describe('bad input', () => {
  let s: ApiSimulator;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(s.url, 'POST', path, body, headers);
  before(async () => {
    s = await startApiSimulator({
      MAX_PROCESSES: String(MAX_PROCESSES),
      MAX_DURATION: '10m',
      API_BODY_LIMIT: '16KiB',
    });
  });
  after(async () => {
    await s.stop();
  });

  test('malformed JSON is 400', async () => {
    for (const text of ['{"name": ', 'not json', '{"a":1}}']) {
      assertError(await post('/api/v1/simulations', text), 400, 'malformed_json');
      assertError(await post('/api/v1/chaos/process-kill', text), 400, 'malformed_json');
    }
  });

  test('wrong types are 422 naming the field, the value and the expected type', async () => {
    const error = assertError(
      await post('/api/v1/simulations', { name: 42, type: 'realistic', parameters: { enable_chaos: 'yes' } }),
      422,
      'validation_failed',
    );
    assert.deepEqual(issueOf(error, 'name'), {
      field: 'name',
      in: 'body',
      value: 42,
      expected: 'Invalid input: expected string, received number',
    });
    assert.equal(issueOf(error, 'parameters.enable_chaos').value, 'yes');
    assertError(await post('/api/v1/simulations', []), 422, 'validation_failed');
    assertError(await post('/api/v1/simulations', 'null'), 422, 'validation_failed');
    const spike = assertError(
      await post('/api/v1/chaos/cpu-spike', { process_pattern: '*', intensity: 'high', duration: '5s' }),
      422,
      'validation_failed',
    );
    assert.equal(issueOf(spike, 'intensity').value, 'high');
  });

  test('unknown fields are 422, each named with its value', async () => {
    const error = assertError(
      await post('/api/v1/simulations', {
        name: 'x',
        type: 'realistic',
        colour: 'red',
        parameters: { process_count: 2, turbo: true },
      }),
      422,
      'validation_failed',
    );
    assert.equal(issueOf(error, 'colour').value, 'red');
    assert.equal(issueOf(error, 'parameters.turbo').value, true);
    const inline = assertError(
      await post('/api/v1/simulations', {
        name: 'x',
        type: { name: 'p', templates: [{ name: 'a', count: 1, priority: 'low', shell: 'rm -rf /' }] },
      }),
      422,
      'validation_failed',
    );
    assert.equal(issueOf(inline, 'type.templates.0.shell').value, 'rm -rf /');
    const query = assertError(
      await call(s.url, 'GET', '/api/v1/simulations?state=running'),
      422,
      'validation_failed',
    );
    assert.equal(issueOf(query, 'state').in, 'query');
  });

  test('huge counts are refused up front with the limit that refuses them, and nothing is spawned', async () => {
    const count = assertError(
      await post('/api/v1/simulations', {
        name: 'x',
        type: 'realistic',
        parameters: { process_count: 1_000_000 },
      }),
      422,
      'validation_failed',
    );
    assert.match(issueOf(count, 'parameters.process_count').expected, new RegExp(`\\b${MAX_PROCESSES}\\b`));
    const inline = assertError(
      await post('/api/v1/simulations', {
        name: 'x',
        type: { name: 'big', templates: [{ name: 'w{i}', count: 100_000, priority: 'low' }] },
      }),
      422,
      'limit_exceeded',
    );
    assert.match(inline.message, new RegExp(`exceeds MAX_PROCESSES=${MAX_PROCESSES}\\b`));
    const memory = assertError(
      await post('/api/v1/simulations', {
        name: 'x',
        type: { name: 'fat', templates: [{ name: 'fat{i}', count: 40, priority: 'low', memory: 100_000 }] },
      }),
      422,
      'limit_exceeded',
    );
    assert.match(memory.message, /MemAvailable/);
    assert.equal((memory as { details?: { limit?: string } }).details?.limit, 'MemAvailable');
    // More threads than pid_max itself, sized from this host's pid_max: refused for pid_max, which the
    // engine checks before ulimit -u, never started (at pid_max 4194304 a fixed 50 x 4096 would fit).
    const threads = assertError(
      await post('/api/v1/simulations', {
        name: 'x',
        type: {
          name: 'threads',
          templates: [{ name: 't{i}', count: PAST_PID_MAX, priority: 'low', threads: MAX_THREADS }],
        },
      }),
      422,
      'limit_exceeded',
    );
    assert.deepEqual(
      (threads as { details?: { limit?: string; value?: number } }).details,
      // requested: the tasks asked for, which is what pid_max limits
      { limit: 'pid_max', value: PID_MAX, requested: PAST_PID_MAX * MAX_THREADS },
      threads.message,
    );
    const kill = assertError(
      await post('/api/v1/chaos/process-kill', { process_pattern: '*', count: 10_000 }),
      422,
      'validation_failed',
    );
    assert.equal(issueOf(kill, 'count').value, 10_000);
    assert.equal(s.sim.engine.liveCount, 0, 'nothing was spawned');
    assert.equal(s.sim.engine.listSimulations().length, 0, 'nothing was created');
  });

  test('negative, zero, malformed and too long durations are 422', async () => {
    for (const duration of ['-5s', -5, 0, '0s', 'soon', '5 parsecs', '', '1h', '11m']) {
      const error = assertError(
        await post('/api/v1/simulations', { name: 'x', type: 'realistic', duration }),
        422,
        'validation_failed',
      );
      const issue = issueOf(error, 'duration');
      assert.deepEqual(issue.value, duration, `duration ${JSON.stringify(duration)} is named`);
    }
    const tooLong = assertError(
      await post('/api/v1/simulations', { name: 'x', type: 'realistic', duration: '1h' }),
      422,
      'validation_failed',
    );
    assert.match(issueOf(tooLong, 'duration').expected, /MAX_DURATION=10m/);
    assertError(
      await post('/api/v1/chaos/cpu-spike', { process_pattern: '*', intensity: 50, duration: '-1s' }),
      422,
      'validation_failed',
    );
    const rate = assertError(
      await post('/api/v1/chaos/memory-leak', {
        process_pattern: '*',
        leak_rate: '-10MB/min',
        duration: '5s',
      }),
      422,
      'validation_failed',
    );
    assert.equal(issueOf(rate, 'leak_rate').value, '-10MB/min');
  });

  test('oversized bodies are 413 naming the limit, whatever their content', async () => {
    const big = JSON.stringify({ name: 'x', type: 'realistic', padding: 'x'.repeat(20_000) });
    const error = assertError(await post('/api/v1/simulations', big), 413, 'body_too_large');
    assert.match(error.message, /API_BODY_LIMIT=16384/);
    assertError(await post('/api/v1/chaos/cpu-spike', 'y'.repeat(17_000)), 413, 'body_too_large');
    // without Content-Length (chunked), counted while reading
    const chunked = await fetch(`${s.url}/api/v1/simulations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
  });

  test('a body that is not JSON is 415; unknown routes and ids are 404', async () => {
    const text = await fetch(`${s.url}/api/v1/simulations`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'name=x',
    });
    assert.equal(text.status, 415);
    assert.equal(((await text.json()) as ErrorBody).error.code, 'unsupported_media_type');
    assertError(await call(s.url, 'GET', '/api/v1/nothing-here'), 404, 'not_found');
    assertError(await call(s.url, 'DELETE', '/api/v1/chaos/no-such-fault'), 404, 'not_found');
    assertError(await call(s.url, 'POST', '/api/v1/simulations/no-such/start'), 404, 'not_found');
    assertError(
      await post('/api/v1/chaos/cpu-spike', {
        process_pattern: '*',
        intensity: 50,
        duration: '5s',
        simulation_id: 'nope',
      }),
      404,
      'not_found',
    );
  });
});

describe('bearer token', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator({ API_TOKEN: 's3cret-token-0123456' });
  });
  after(async () => {
    await s.stop();
  });

  test('mutating requests need the token; reads and probes do not', async () => {
    const request = { name: 'x', type: 'realistic', parameters: { process_count: 1 } };
    const missing = await call(s.url, 'POST', '/api/v1/simulations', request);
    assertError(missing, 401, 'unauthorized');
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assertError(
      await call(s.url, 'POST', '/api/v1/simulations', request, { authorization: 'Bearer wrong' }),
      401,
      'unauthorized',
    );
    assertError(
      await call(s.url, 'POST', '/api/v1/simulations', request, { authorization: 's3cret-token-0123456' }),
      401,
      'unauthorized',
    );
    const created = await call(s.url, 'POST', '/api/v1/simulations', request, {
      authorization: 'Bearer s3cret-token-0123456',
    });
    assert.equal(created.status, 201);
    assertError(await call(s.url, 'DELETE', `/api/v1/simulations/${created.body.id}`), 401, 'unauthorized');
    assert.equal((await call(s.url, 'GET', '/api/v1/simulations')).status, 200);
    assert.equal((await call(s.url, 'GET', '/health')).status, 200);
    assert.equal((await call(s.url, 'GET', '/info')).body.limits.auth_required, true);
    const document = (await call(s.url, 'GET', '/openapi.json')).body;
    assert.deepEqual(document.paths['/api/v1/simulations'].post.security, [{ bearer: [] }]);
    assert.equal(document.components.securitySchemes.bearer.scheme, 'bearer');
    assert.equal(
      (
        await call(s.url, 'DELETE', `/api/v1/simulations/${created.body.id}`, undefined, {
          authorization: 'Bearer s3cret-token-0123456',
        })
      ).status,
      204,
    );
  });
});
