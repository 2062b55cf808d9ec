/**
 * Secrets in the environment never come back in an error: OTLP endpoints with credentials in any form
 * are refused with the user info shown as ***, header values and API_TOKEN are never quoted. And the
 * rules about who may reach the API: a token beyond loopback, ALLOWED_HOSTS in normal form.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config.ts';
import { ValidationError } from '../../src/profiles/validation-error.ts';

const MARK = 'S3CR3T';

/** Characters a user name or password may hold in a URL, written raw or percent-encoded. */
const secretPart = fc
  .array(fc.constantFrom(..."aZ09-._~!$&'()*+,;=:%/?#[]@ ".split(''), '%40', '%3A', 'é'), { maxLength: 8 })
  .map((chars) => `${MARK}${chars.join('')}`);

const credentialEndpoint = fc
  .record({
    scheme: fc.constantFrom('http://', 'https://', 'HTTP://', 'Https://', ''),
    user: secretPart,
    password: secretPart,
    form: fc.constantFrom('user:password', 'user', ':password', 'user:'),
    host: fc.constantFrom('collector', 'otel.example.com', '10.0.0.7', '[::1]', 'localhost'),
    port: fc.integer({ min: 1, max: 65_535 }),
    slash: fc.constantFrom('', '/'),
  })
  .map(({ scheme, user, password, form, host, port, slash }) => {
    const info = form.replace('user', user).replace('password', password);
    return `${scheme}${info}@${host}:${port}${slash}`;
  });

function refusal(env: Record<string, string>): ValidationError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

const leaks = (error: ValidationError) =>
  error.message.includes(MARK) || JSON.stringify(error.issues).includes(MARK);

describe('secrets in the environment', () => {
  test('an OTLP endpoint with credentials, in any form, is refused and shown as ***@host:port', () => {
    fc.assert(
      fc.property(
        credentialEndpoint,
        fc.constantFrom('OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'),
        (url, variable) => {
          const error = refusal({ [variable]: url });
          assert.ok(!leaks(error), error.message);
          assert.match(error.message, new RegExp(`${variable}: expected no user info`));
          assert.match(error.message, /OTEL_EXPORTER_OTLP_HEADERS/);
          assert.match(error.message, /\*\*\*@/);
          assert.equal(error.issues.length, 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('an endpoint without credentials is taken as it is; a query or path is refused', () => {
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }).otlp.endpoint,
      'http://collector:4317',
    );
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com:443/' }).otlp.endpoint,
      'https://otel.example.com:443/',
    );
    assert.match(
      refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:1/?token=x' }).message,
      /no path, query or fragment/,
    );
    assert.match(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:1/v1/metrics' }).message, /no path/);
  });

  test('header values are never quoted, whatever is wrong with the variable', () => {
    const value = secretPart;
    const bad = fc.oneof(
      value.map((v) => `authorization=${v}%ZZ`),
      value.map((v) => `authorization=${encodeURIComponent(v)}%0A`),
      value.map((v) => `x-ok=1,${v.replaceAll('=', '')}`),
      value.map((v) => `Bad Key=${encodeURIComponent(v)}`),
      value.map((v) => `x-data-bin=${encodeURIComponent(v)}`),
      value.map((v) => `x=${encodeURIComponent(`${v}\u0001`)}`),
    );
    fc.assert(
      fc.property(bad, (headers) => {
        const error = refusal({ OTEL_EXPORTER_OTLP_HEADERS: headers });
        assert.ok(!leaks(error), error.message);
        assert.match(error.message, /OTEL_EXPORTER_OTLP_HEADERS: .*\(the value is not shown\)/);
      }),
      { numRuns: 300 },
    );
    const good = loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${MARK},x-tenant=t1` });
    assert.deepEqual(good.otlp.headers, { authorization: `Bearer ${MARK}`, 'x-tenant': 't1' });
  });

  test('API_TOKEN: 16+ visible ASCII characters, and a refused token is never quoted', () => {
    const bad = fc.oneof(
      fc.string({ maxLength: 9 }).map((s) => `${MARK}${s}`.slice(0, 15)),
      fc.string({ minLength: 10, maxLength: 30 }).map((s) => `${MARK} ${s}x`),
      fc.string({ minLength: 16 }).map((s) => `${MARK}é${s}`),
    );
    fc.assert(
      fc.property(bad, (token) => {
        const error = refusal({ API_TOKEN: token });
        assert.ok(!leaks(error), error.message);
        assert.match(error.message, /API_TOKEN: expected .*\(the value is not shown\)/);
      }),
      { numRuns: 300 },
    );
    assert.equal(loadConfig({ API_TOKEN: `${MARK}-0123456789` }).apiToken, `${MARK}-0123456789`);
  });
});

describe('who may reach the API', () => {
  test('beyond loopback the API needs API_TOKEN, or the explicit opt-out; loopback needs neither', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.7', 'sim.example.com', '192.168.1.10']) {
      const error = refusal({ CONTROL_HOST: host });
      assert.match(error.message, /CONTROL_HOST: the control API would listen beyond loopback/);
      assert.match(error.message, /API_TOKEN/);
      assert.match(error.message, /API_ALLOW_UNAUTHENTICATED=true/);
      assert.equal(loadConfig({ CONTROL_HOST: host, API_TOKEN: 'a-token-of-16-chars' }).controlHost, host);
      assert.equal(
        loadConfig({ CONTROL_HOST: host, API_ALLOW_UNAUTHENTICATED: 'true' }).allowUnauthenticated,
        true,
      );
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST']) {
      assert.equal(loadConfig({ CONTROL_HOST: host }).controlHost, host);
    }
    assert.match(
      refusal({ CONTROL_HOST: 'not a host' }).message,
      /CONTROL_HOST: expected an IP address or a host name/,
    );
  });

  test('ALLOWED_HOSTS: names and addresses in normal form, * for any, ports refused', () => {
    assert.deepEqual(
      loadConfig({ ALLOWED_HOSTS: ' Sim.Example.COM. , 10.0.0.5,[::1], ::2 ,*' }).allowedHosts,
      ['sim.example.com', '10.0.0.5', '::1', '::2', '*'],
    );
    for (const bad of ['sim.example.com:8090', 'http://sim', 'a b', 'user@host']) {
      assert.match(
        refusal({ ALLOWED_HOSTS: bad }).message,
        /ALLOWED_HOSTS: expected host names without ports/,
      );
    }
  });
});
