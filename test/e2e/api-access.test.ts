/**
 * Host and Origin rules over real HTTP, with generated header variants: the API answers only for its
 * own names (DNS rebinding gets 403), refuses a changing request a browser marks as cross-site (403),
 * and a request without Host (400). No answer and no log line carries the token.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../../src/api/app.ts';
import { type ApiServer, startApiServer } from '../../src/api/server.ts';
import { Engine } from '../../src/engine/engine.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { seriesPerProcess } from '../../src/simulator.ts';
import { initialExportStatus } from '../../src/telemetry/telemetry.ts';
import { type ApiSimulator, startApiSimulator } from './api-helpers.ts';

const TOKEN = 'T0KEN-secret-for-access-tests';

interface Answer {
  status: number;
  body: string;
}

/** One request with exactly these headers (no Host unless given), over a fresh connection. */
function raw(base: string, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        method,
        path,
        headers,
        setHost: false,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/1.0 request with no Host header at all, written on a socket. */
function withoutHost(base: string, version: '1.0' | '1.1'): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.on('error', reject);
    socket.write(`GET /health HTTP/${version}\r\nConnection: close\r\n\r\n`);
  });
}

const port = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 65_535 }).map((p) => `:${p}`),
);
const loopbackName = fc.oneof(
  fc.constantFrom('localhost', 'LOCALHOST', 'LocalHost.', 'localhost.', '[::1]'),
  // (an IPv4 address with a trailing dot is refused by the HTTP layer when a port follows: not here)
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `127.${a}.${b}.${c}`),
);
const foreignName = fc.oneof(
  fc.domain().filter((name) => name !== 'localhost'),
  fc.constantFrom(
    'localhost.evil.example',
    'evil.localhost',
    '127.0.0.1.nip.io',
    'LOCALHOST.evil',
    'xn--lcalhost-8za',
  ),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`),
  fc.constantFrom('[2001:db8::1]', '192.0.2.7', '[fe80::1]'),
);

function assertNoSecret(answer: Answer, lines: readonly string[]) {
  assert.ok(!answer.body.includes(TOKEN), answer.body);
  assert.ok(!lines.some((line) => line.includes(TOKEN)), 'no log line carries the token');
}

describe('the Host header', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator({ API_TOKEN: TOKEN });
  });
  after(async () => {
    await s.stop();
  });

  test('loopback names and addresses, in any spelling and with any port, are answered', async () => {
    await fc.assert(
      fc.asyncProperty(loopbackName, port, async (name, suffix) => {
        const answer = await raw(s.url, 'GET', '/health', { host: `${name}${suffix}` });
        assert.equal(answer.status, 200, `${name}${suffix}: ${answer.body}`);
        assertNoSecret(answer, s.lines);
      }),
      { numRuns: 150 },
    );
  });

  test('any other name or address is refused with 403, on every kind of route', async () => {
    await fc.assert(
      fc.asyncProperty(
        foreignName,
        port,
        fc.constantFrom(
          ['GET', '/health'],
          ['GET', '/info'],
          ['GET', '/api/v1/simulations'],
          ['POST', '/api/v1/simulations/x/start'],
          ['GET', '/'],
        ),
        async (name, suffix, [method, path]) => {
          const answer = await raw(s.url, method as string, path as string, {
            host: `${name}${suffix}`,
            authorization: `Bearer ${TOKEN}`,
          });
          assert.equal(answer.status, 403, `${name}${suffix} ${method} ${path}: ${answer.body}`);
          assert.equal(JSON.parse(answer.body).error.code, 'host_not_allowed');
          assertNoSecret(answer, s.lines);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('127.0.0.1 written as a number is loopback too, where the HTTP layer lets it through', async () => {
    // @hono/node-server re-parses a Host with a port of 1-3 digits and refuses (400) one the URL
    // parser rewrites; otherwise it reaches the app, which reads it as the address it names.
    for (const name of ['2130706433', '0x7f.1', '127.1']) {
      for (const suffix of ['', ':8090', ':1']) {
        const answer = await raw(s.url, 'GET', '/health', { host: `${name}${suffix}` });
        assert.equal(answer.status, suffix === ':1' ? 400 : 200, `${name}${suffix}: ${answer.body}`);
      }
    }
  });

  test('a malformed Host is refused with 400 or 403, never answered', async () => {
    // IPv6 written other than in its shortest form is refused by the HTTP layer before the app (400)
    for (const host of [
      'evil.example@127.0.0.1',
      '127.0.0.1@evil.example',
      '',
      'localhost:99999',
      '[::1',
      'a b',
      '[0:0:0:0:0:0:0:1]',
      '[::ffff:127.0.0.1]',
      '[::ffff:10.0.0.1]:1',
    ]) {
      const answer = await raw(s.url, 'GET', '/health', { host });
      assert.ok(answer.status === 400 || answer.status === 403, `${JSON.stringify(host)}: ${answer.status}`);
      assertNoSecret(answer, s.lines);
    }
  });

  test('no Host header: 400, from us over HTTP/1.0 and from Node over HTTP/1.1', async () => {
    const old = await withoutHost(s.url, '1.0');
    assert.equal(old.status, 400);
    assert.equal(JSON.parse(old.body).error.code, 'host_missing');
    assert.equal((await withoutHost(s.url, '1.1')).status, 400);
  });
});

describe('the Host header on an IPv6 listener', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator({ CONTROL_HOST: '::1' });
  });
  after(async () => {
    await s.stop();
  });

  test('[::1] with its port, localhost and 127.0.0.1 are answered; other names are not', async () => {
    const { port: listening } = new URL(s.url);
    for (const host of [`[::1]:${listening}`, '[::1]', `localhost:${listening}`, '127.0.0.1']) {
      assert.equal((await raw(s.url, 'GET', '/health', { host })).status, 200, host);
    }
    for (const host of [`evil.example:${listening}`, '[2001:db8::2]']) {
      assert.equal((await raw(s.url, 'GET', '/health', { host })).status, 403, host);
    }
  });
});

describe('ALLOWED_HOSTS and the bound address', () => {
  let server: ApiServer;
  let engine: Engine;
  before(async () => {
    engine = new Engine();
    const app = createApp({
      engine,
      snapshots: new SnapshotStore(),
      exportStatus: initialExportStatus(undefined),
      endpoints: { metrics: undefined, otlp: undefined },
      seriesPerProcess: seriesPerProcess(false),
      limits: { maxDurationMs: 60_000, bodyLimitBytes: 65_536 },
      access: { allowedHosts: ['sim.example.com', '10.1.2.3'], controlHost: 'bound.example.net' },
    });
    server = await startApiServer(app, '127.0.0.1', 0);
  });
  after(async () => {
    await server.close();
    await engine.shutdown();
  });

  test('names in ALLOWED_HOSTS and CONTROL_HOST are answered in any case, with or without a port', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'sim.example.com',
          'SIM.Example.com.',
          '10.1.2.3',
          'bound.example.net',
          'Bound.Example.Net',
        ),
        port,
        async (name, suffix) => {
          assert.equal(
            (await raw(server.url, 'GET', '/health', { host: `${name}${suffix}` })).status,
            200,
            name,
          );
        },
      ),
      { numRuns: 40 },
    );
    for (const host of ['other.example.com', 'sim.example.com.evil', '10.1.2.4']) {
      assert.equal((await raw(server.url, 'GET', '/health', { host })).status, 403, host);
    }
  });
});

describe('ALLOWED_HOSTS through the simulator', () => {
  let s: ApiSimulator;
  before(async () => {
    s = await startApiSimulator({ ALLOWED_HOSTS: 'sim.example.com' });
  });
  after(async () => {
    await s.stop();
  });

  test('a name in ALLOWED_HOSTS is answered', async () => {
    assert.equal((await raw(s.url, 'GET', '/health', { host: 'sim.example.com' })).status, 200);
  });
});

test('the address a request came in on is answered (as node reports it, IPv4-mapped or not)', async () => {
  const engine = new Engine();
  try {
    const app = createApp({
      engine,
      snapshots: new SnapshotStore(),
      exportStatus: initialExportStatus(undefined),
      endpoints: { metrics: undefined, otlp: undefined },
      seriesPerProcess: seriesPerProcess(false),
      limits: { maxDurationMs: 60_000, bodyLimitBytes: 65_536 },
    });
    // what @hono/node-server passes as env: the node request, whose socket names the local address
    const arrivedOn = (localAddress: string) => ({ incoming: { socket: { localAddress } } });
    const get = (host: string, localAddress: string) =>
      app.request(`http://${host}/health`, { headers: { host } }, arrivedOn(localAddress));
    assert.equal((await get('10.9.8.7:8090', '10.9.8.7')).status, 200);
    assert.equal((await get('10.9.8.7', '::ffff:10.9.8.7')).status, 200);
    assert.equal((await get('[fd00::7]:8090', 'fd00::7')).status, 200);
    assert.equal((await get('10.9.8.8:8090', '10.9.8.7')).status, 403);
    assert.equal((await get('pod.example:8090', '10.9.8.7')).status, 403);
  } finally {
    await engine.shutdown();
  }
});

describe('changing requests from browsers', () => {
  let s: ApiSimulator;
  let own: { hostname: string; port: number };
  before(async () => {
    s = await startApiSimulator({ API_TOKEN: TOKEN });
    const url = new URL(s.url);
    own = { hostname: url.hostname, port: Number(url.port) };
  });
  after(async () => {
    await s.stop();
  });

  const post = (headers: Record<string, string>) =>
    raw(s.url, 'POST', '/api/v1/simulations/no-such-id/start', {
      host: `${own.hostname}:${own.port}`,
      authorization: `Bearer ${TOKEN}`,
      ...headers,
    });

  test('an Origin that is this host and port passes; any other origin is refused with 403', async () => {
    const origin = fc.record({
      scheme: fc.constantFrom('http', 'https', 'HTTP'),
      host: fc.constantFrom('127.0.0.1', '127.0.0.1.', 'localhost', 'evil.example', '[::1]', '127.0.0.2'),
      port: fc.oneof(fc.constant(undefined), fc.constant('own'), fc.integer({ min: 1, max: 65_535 })),
    });
    await fc.assert(
      fc.asyncProperty(origin, async ({ scheme, host, port: p }) => {
        const portNumber = p === 'own' ? own.port : p;
        const text = `${scheme}://${host}${portNumber === undefined ? '' : `:${portNumber}`}`;
        const defaultPort = scheme.toLowerCase() === 'https' ? 443 : 80;
        const same =
          (host === '127.0.0.1' || host === '127.0.0.1.') && (portNumber ?? defaultPort) === own.port;
        const answer = await post({ origin: text });
        if (same) assert.equal(answer.status, 404, `${text}: ${answer.body}`);
        else {
          assert.equal(answer.status, 403, `${text}: ${answer.body}`);
          assert.equal(JSON.parse(answer.body).error.code, 'cross_site_refused');
        }
        assertNoSecret(answer, s.lines);
      }),
      { numRuns: 150 },
    );
    for (const bad of ['null', 'file://', 'http://127.0.0.1:1/path', 'not an origin']) {
      assert.equal((await post({ origin: bad })).status, 403, bad);
    }
  });

  test('Sec-Fetch-Site: same-origin and none pass; same-site, cross-site and anything else are refused', async () => {
    for (const site of ['same-origin', 'none'])
      assert.equal((await post({ 'sec-fetch-site': site })).status, 404, site);
    for (const site of ['same-site', 'cross-site', 'CROSS-SITE', 'garbage', '']) {
      assert.equal((await post({ 'sec-fetch-site': site })).status, 403, site);
    }
    const mixed = await post({ 'sec-fetch-site': 'same-origin', origin: 'http://evil.example' });
    assert.equal(mixed.status, 403, 'both headers are checked');
  });

  test('reads are not checked for their origin, and clients without browser headers pass', async () => {
    const read = await raw(s.url, 'GET', '/api/v1/simulations', {
      host: `127.0.0.1:${own.port}`,
      origin: 'http://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(read.status, 200);
    assert.equal((await post({})).status, 404);
  });
});
