/**
 * /openapi.json is a valid OpenAPI 3.1 document, generated from the schemas that validate requests,
 * and it matches the routes the server really answers; /docs renders it without leaving the machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Engine } from '../../src/engine/engine.ts';
import { type ApiSimulator, call, createTestApp, startApiSimulator } from './api-helpers.ts';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** Served but deliberately not documented: the /api/v1 aliases of the probes. */
const UNDOCUMENTED = new Set(['GET /api/v1/health', 'GET /api/v1/info']);
/** The API's own routes; pages for people and their files are not part of the contract. */
const isApiRoute = (route: string) =>
  route.includes(' /api/v1/') || route === 'GET /health' || route === 'GET /info';

describe('the OpenAPI document', () => {
  let s: ApiSimulator;
  let document: Record<string, any>;
  before(async () => {
    s = await startApiSimulator({ MAX_PROCESSES: '77', MAX_DURATION: '30m' });
    document = (await call(s.url, 'GET', '/openapi.json')).body;
  });
  after(async () => {
    await s.stop();
  });

  test('validates against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
  });

  test('shows the limits in force, from the same schemas that enforce them', async () => {
    const create = document.components.schemas.CreateSimulation;
    assert.equal(create.properties.parameters.properties.process_count.maximum, 77);
    assert.match(create.properties.duration.description, /30m/);
    assert.deepEqual(create.required.sort(), ['name', 'type']);
    assert.equal(create.additionalProperties, false, 'unknown fields are documented as refused');
    const refused = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'x',
      type: 'realistic',
      parameters: { process_count: 78 },
    });
    assert.equal(refused.status, 422);
  });

  test('every documented operation is served, and every served route is documented', async () => {
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, unknown>>(document.paths)) {
      for (const method of METHODS) {
        if (!item[method]) continue;
        documented.add(`${method.toUpperCase()} ${path}`);
        const url = s.url + path.replaceAll(/\{[^}]+\}/g, 'no-such-id');
        const controller = new AbortController();
        const response = await fetch(url, { method: method.toUpperCase(), signal: controller.signal });
        const text = response.headers.get('content-type')?.includes('event-stream')
          ? ''
          : await response.text();
        controller.abort();
        assert.ok(
          !text.includes('no route'),
          `${method.toUpperCase()} ${path} is served (${response.status} ${text})`,
        );
        const statuses = Object.keys((item[method] as { responses: object }).responses);
        assert.ok(
          statuses.includes(String(response.status)),
          `${method.toUpperCase()} ${path}: ${response.status} is documented (${statuses})`,
        );
      }
    }

    const engine = new Engine();
    try {
      const app = createTestApp(engine);
      const served = new Set(
        app.routes
          .filter((route) => route.method !== 'ALL')
          .map((route) => `${route.method} ${route.path.replaceAll(/:([^/]+)/g, '{$1}')}`)
          .filter(isApiRoute),
      );
      for (const route of served) {
        assert.ok(documented.has(route) || UNDOCUMENTED.has(route), `${route} is documented`);
      }
      for (const operation of documented) assert.ok(served.has(operation), `${operation} is served`);
    } finally {
      await engine.shutdown();
    }
  });

  test('every operation has an id, a summary and the error shape on its 4xx answers', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        assert.ok(
          operation.operationId && !ids.has(operation.operationId),
          `${method} ${path}: unique operationId`,
        );
        ids.add(operation.operationId);
        assert.ok(operation.summary, `${method} ${path}: summary`);
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          if (!status.startsWith('4')) continue;
          assert.equal(
            response.content['application/json'].schema.$ref,
            '#/components/schemas/Error',
            `${method} ${path} ${status}`,
          );
        }
      }
    }
  });

  test('/docs is a page that renders the document with nothing fetched from elsewhere', async () => {
    const response = await fetch(`${s.url}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.match(html, /fetch\('\/openapi\.json'\)/);
    assert.doesNotMatch(html, /(src|href)\s*=\s*["']?https?:/i, 'no external script, style or font');
    assert.doesNotMatch(html, /@import|url\(/i);
  });
});
