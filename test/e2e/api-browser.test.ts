/**
 * The attacks the Host and Origin rules stop, made by a real headless Chromium on loopback: a page of
 * another origin posting a form and a no-cors fetch to the body-less start route, and a page reached
 * through a name that resolves to 127.0.0.1 (DNS rebinding, by the browser's own resolver rules). The
 * dashboard's own changing requests carry Origin and Sec-Fetch-Site: same-origin, and pass.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium } from 'playwright-core';
import { waitFor } from '../helpers/wait.ts';
import { type ApiSimulator, call, startApiSimulator } from './api-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('a real browser against the API', () => {
  let s: ApiSimulator;
  let attacker: Server;
  let attackerUrl: string;
  let context: BrowserContext;
  let profile: string;
  let apiPort: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install chromium`);
    s = await startApiSimulator();
    apiPort = new URL(s.url).port;
    // another origin on this machine: same host, another port
    attacker = createServer((req, res) => {
      const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><body>
        <form id="f" method="POST" action="${target}" enctype="text/plain"><input name="a" value="b"></form>
        <script>
          fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors' }).finally(() => document.getElementById('f').submit());
        </script></body>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const address = attacker.address();
    assert.ok(address && typeof address === 'object');
    attackerUrl = `http://127.0.0.1:${address.port}/`;
    profile = mkdtempSync(join(tmpdir(), 'api-browser-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // evil.test resolves to this machine, as a rebinding attacker's name would after re-pointing
        '--host-resolver-rules=MAP evil.test 127.0.0.1',
      ],
    });
  });
  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
    await s?.stop();
  });

  test('a page of another origin cannot start a simulation: its fetch and its form get 403', async () => {
    const created = await call(s.url, 'POST', '/api/v1/simulations', {
      name: 'target',
      type: 'realistic',
      parameters: { process_count: 2 },
    });
    assert.equal(created.status, 201);
    const target = `${s.url}/api/v1/simulations/${created.body.id}/start`;
    const page = await context.newPage();
    const statuses: number[] = [];
    page.on('response', (response) => {
      if (response.url() === target) statuses.push(response.status());
    });
    await page.goto(`${attackerUrl}?target=${encodeURIComponent(target)}`);
    await waitFor(
      'the fetch and the form to reach the API',
      { timeoutMs: 30_000, lastSeen: () => `${statuses}` },
      () => (statuses.length >= 2 ? statuses : false),
    );
    assert.deepEqual(statuses, [403, 403]);
    // The form's answer replaces the page: read it once that navigation has finished.
    const body = await waitFor('the refused answer shown', { timeoutMs: 10_000 }, async () => {
      await page.waitForLoadState('load');
      const text = await page.content().catch(() => '');
      return /cross_site_refused/.test(text) && text;
    });
    assert.match(body, /cross_site_refused/);
    assert.equal((await call(s.url, 'GET', `/api/v1/simulations/${created.body.id}`)).body.state, 'created');
    assert.equal(s.sim.engine.liveCount, 0, 'nothing was spawned');
    await page.close();
  });

  test('a rebinding name (evil.test -> 127.0.0.1) gets 403 for the page and for its requests', async () => {
    const page = await context.newPage();
    const response = await page.goto(`http://evil.test:${apiPort}/`);
    assert.equal(response?.status(), 403);
    const fromPage = await page.evaluate(async () => {
      const answer = await fetch('/api/v1/simulations');
      return { status: answer.status, body: await answer.text() };
    });
    assert.equal(fromPage.status, 403);
    assert.match(fromPage.body, /host_not_allowed/);
    await page.close();
  });

  test("the dashboard's own changing requests are same-origin and pass", async () => {
    const page = await context.newPage();
    await page.goto(`${s.url}/`);
    const sent = page.waitForRequest((request) => request.method() === 'POST');
    const status = await page.evaluate(async () => {
      const path = '/dashboard/api.js'; // the page's own module, loaded in the page
      const { api } = await import(path);
      try {
        await api('POST', '/api/v1/simulations/no-such-id/start');
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    });
    assert.equal(status, 404, 'past the origin check, to the route');
    const headers = await (await sent).allHeaders();
    assert.equal(headers['sec-fetch-site'], 'same-origin');
    assert.equal(headers.origin, s.url);
    await page.close();
  });
});
