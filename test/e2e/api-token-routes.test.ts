/**
 * With API_TOKEN set, every changing operation needs it: the operations are taken from /openapi.json
 * and from the routes the app serves, so a route added later is covered without touching this file.
 * The token passes in any case of the scheme and with spaces or tabs; anything else is 401.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../../src/api/app.ts';
import { Engine } from '../../src/engine/engine.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { seriesPerProcess } from '../../src/simulator.ts';
import { initialExportStatus } from '../../src/telemetry/telemetry.ts';
import { type ApiSimulator, call, startApiSimulator } from './api-helpers.ts';

const TOKEN = 'Route-T0ken_0123456789abcdef';
const READ_METHODS = new Set(['get', 'head', 'options']);

interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
  statuses: Set<number>;
}

/** A request with this Authorization header exactly as written (tabs and all). */
function send(base: string, op: Operation, authorization: string | undefined) {
  const url = new URL(op.path.replaceAll(/\{[^}]+\}/g, 'no-such-id'), base);
  const headers: Record<string, string> = { host: url.host };
  if (authorization !== undefined) headers.authorization = authorization;
  if (op.hasBody) headers['content-type'] = 'application/json';
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: op.method.toUpperCase(), headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(op.hasBody ? '{}' : undefined);
  });
}

describe('the bearer token on every changing operation', () => {
  let s: ApiSimulator;
  let operations: Operation[];
  before(async () => {
    s = await startApiSimulator({ API_TOKEN: TOKEN });
    const document = (await call(s.url, 'GET', '/openapi.json')).body;
    operations = Object.entries<Record<string, any>>(document.paths).flatMap(([path, item]) =>
      Object.entries<any>(item)
        .filter(
          ([method]) => !READ_METHODS.has(method) && ['post', 'put', 'patch', 'delete'].includes(method),
        )
        .map(([method, operation]) => ({
          method,
          path,
          hasBody: operation.requestBody !== undefined,
          statuses: new Set(Object.keys(operation.responses).map(Number)),
        })),
    );
  });
  after(async () => {
    await s.stop();
  });

  test('the document lists the changing operations, each documented as needing the token', async () => {
    const names = operations.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
    // the ones the issue named, at least; the list itself comes from the document
    for (const expected of [
      'POST /api/v1/simulations',
      'POST /api/v1/simulations/{id}/start',
      'POST /api/v1/simulations/{id}/stop',
      'DELETE /api/v1/simulations/{id}',
      'POST /api/v1/chaos/cpu-spike',
      'POST /api/v1/chaos/memory-leak',
      'POST /api/v1/chaos/process-kill',
      'DELETE /api/v1/chaos/{id}',
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names}`);
    }
    const document = (await call(s.url, 'GET', '/openapi.json')).body;
    for (const op of operations) {
      assert.deepEqual(
        document.paths[op.path][op.method].security,
        [{ bearer: [] }],
        `${op.method} ${op.path}`,
      );
      assert.ok(op.statuses.has(401), `${op.method} ${op.path} documents 401`);
    }
  });

  test('without the token, with a wrong one or a malformed header: 401, and the token is never echoed', async () => {
    const refused = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        '',
        'Bearer',
        'Bearer ',
        `Bearer${TOKEN}`,
        `Basic ${TOKEN}`,
        TOKEN,
        `Bearer ${TOKEN}x`,
        `Bearer x${TOKEN}`,
        `Bearer ${TOKEN.toLowerCase()}`,
        `Bearer ${TOKEN} ${TOKEN}`,
        `Bearer "${TOKEN}"`,
        `Token ${TOKEN}`,
        `Bearer ${TOKEN.slice(0, -1)}`,
      ),
      fc.string({ maxLength: 40 }).map((junk) => `Bearer ${junk.replace(/[^\x21-\x7e]/g, '')}`),
    );
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(refused, async (authorization) => {
          const answer = await send(s.url, op, authorization);
          assert.equal(
            answer.status,
            401,
            `${op.method} ${op.path} with ${JSON.stringify(authorization)}: ${answer.body}`,
          );
          assert.equal(JSON.parse(answer.body).error.code, 'unauthorized');
          assert.ok(!answer.body.includes(TOKEN));
        }),
        { numRuns: 25 },
      );
    }
    assert.ok(!s.lines.some((line) => line.includes(TOKEN)), 'no log line carries the token');
  });

  test('the token passes in any case of the scheme, after spaces or tabs, reaching the route', async () => {
    const variant = fc
      .tuple(
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR'),
        fc.stringMatching(/^[ \t]{1,4}$/),
        fc.stringMatching(/^[ \t]{0,3}$/),
      )
      .map(([scheme, gap, tail]) => `${scheme}${gap}${TOKEN}${tail}`);
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(variant, async (authorization) => {
          const answer = await send(s.url, op, authorization);
          assert.notEqual(
            answer.status,
            401,
            `${op.method} ${op.path} with ${JSON.stringify(authorization)}`,
          );
          assert.ok(
            answer.status < 500 && op.statuses.has(answer.status),
            `${op.method} ${op.path}: ${answer.status} ${answer.body}`,
          );
        }),
        { numRuns: 10 },
      );
    }
    assert.equal(s.sim.engine.listSimulations().length, 0, 'nothing was created: {} is no simulation');
  });
});

test('every changing route the app serves, documented or not, needs the token', async () => {
  const engine = new Engine();
  try {
    const app = createApp({
      engine,
      snapshots: new SnapshotStore(),
      exportStatus: initialExportStatus(undefined),
      endpoints: { metrics: undefined, otlp: undefined },
      seriesPerProcess: seriesPerProcess(false),
      limits: { maxDurationMs: 60_000, bodyLimitBytes: 65_536 },
      apiToken: TOKEN,
    });
    const changing = app.routes.filter((route) => !['GET', 'HEAD', 'OPTIONS', 'ALL'].includes(route.method));
    assert.ok(changing.length >= 8, `${changing.length} changing routes`);
    for (const route of changing) {
      const path = route.path.replaceAll(/:[^/]+/g, 'no-such-id');
      const response = await app.request(path, {
        method: route.method,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
    }
  } finally {
    await engine.shutdown();
  }
});
