/**
 * The container files agree with the simulator and with each other: compose and Prometheus accept
 * their files, the simulator gets only environment names it reads, and every port matches the one
 * the code or the collector config actually uses.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.ts';
import { DEFAULT_CONTROL_PORT, DEFAULT_METRICS_PORT, ENV_VARS } from '../../src/config/defaults.ts';
import { LAUNCH_ENV } from '../helpers/launch.ts';
import { requireTools } from '../helpers/require.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');

const composeText = read('docker-compose.yml');
const dockerfile = read('Dockerfile');

interface Port {
  target: number;
  published: number;
  /** the address the port is published on; undefined = every interface */
  host?: string;
}
interface Service {
  environment?: Record<string, string> | string[];
  ports?: (Port | string | number)[];
}
const compose = parse(composeText) as { services: Record<string, Service> };

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service "${name}"`);
  return found;
}

function environmentNames(svc: Service): string[] {
  const env = svc.environment ?? {};
  return Array.isArray(env) ? env.map((entry) => entry.split('=')[0] ?? entry) : Object.keys(env);
}

/**
 * The ports a service publishes. The long syntax, or the short one with an address
 * (`127.0.0.1:8090:8090`): docker-compose 1.29 takes no address in the long syntax.
 */
function publishedPorts(name: string): Port[] {
  return (service(name).ports ?? []).map((port) => {
    if (typeof port === 'string') {
      const match = /^(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)$/.exec(port);
      assert.ok(
        match,
        `service ${name}: port ${JSON.stringify(port)} should be ADDRESS:PUBLISHED:TARGET or long syntax`,
      );
      return { host: match[1], published: Number(match[2]), target: Number(match[3]) };
    }
    assert.equal(
      typeof port,
      'object',
      `service ${name}: port ${JSON.stringify(port)} should use the long syntax`,
    );
    return port as Port;
  });
}

/** The default of a `${env:NAME:-default}` port at the end of a collector endpoint or port value. */
function defaultPort(value: unknown, field: string): number {
  const match = /:-(\d+)\}$/.exec(String(value));
  assert.ok(match?.[1], `${field}: expected a \${env:NAME:-port} default, got ${JSON.stringify(value)}`);
  return Number(match[1]);
}

function collectorPorts(file: string) {
  const cfg = parse(read('otel-collector', file)) as any;
  return {
    otlpGrpc: cfg.receivers.otlp
      ? defaultPort(cfg.receivers.otlp.protocols.grpc.endpoint, `${file} otlp grpc`)
      : undefined,
    prometheus: defaultPort(cfg.exporters.prometheus.endpoint, `${file} prometheus endpoint`),
    telemetry: defaultPort(
      cfg.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port,
      `${file} telemetry`,
    ),
  };
}

const known = new Set<string>(Object.keys(ENV_VARS));

describe('docker-compose.yml, Dockerfile and prometheus.yml', () => {
  // A missing docker-compose or promtool fails its test with the package to install, never skips it.
  test('docker-compose accepts the file, with and without the hostmetrics profile', () => {
    const [dockerCompose] = requireTools('docker-compose');
    for (const args of [[], ['--profile', 'hostmetrics']]) {
      const { status, output } = run(dockerCompose, ['-f', 'docker-compose.yml', ...args, 'config', '-q']);
      assert.equal(status, 0, output);
    }
  });

  test('every environment name given to the simulator is one it reads', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const env of environmentNames(svc)) {
        assert.ok(known.has(env), `service ${name}: environment ${env} is not in ENV_VARS`);
      }
    }
    // Values the user can override from the shell (${PROFILE:-realistic}) must be real names too.
    for (const [, env] of composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
      assert.ok(known.has(env ?? ''), `docker-compose.yml: \${${env}} is not in ENV_VARS`);
    }
  });

  test('every environment name in the Dockerfile is one the simulator reads, or the launchers set', () => {
    const envLines = dockerfile.split('\n').filter((line) => /^ENV\s/.test(line));
    assert.ok(envLines.length > 0, 'Dockerfile sets no ENV');
    for (const line of envLines) {
      for (const [, env] of line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)) {
        assert.ok(
          known.has(env ?? '') || Object.hasOwn(LAUNCH_ENV, env ?? ''),
          `Dockerfile: ENV ${env} is not in ENV_VARS nor one the launchers set`,
        );
      }
    }
    for (const [, env] of dockerfile.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
      assert.ok(known.has(env ?? ''), `Dockerfile: process.env.${env} is not in ENV_VARS`);
    }
  });

  test('the simulator publishes and exposes its default metrics and control ports', () => {
    const expected = [DEFAULT_CONTROL_PORT, DEFAULT_METRICS_PORT].sort();
    const ports = publishedPorts('simulator');
    assert.deepEqual(ports.map((p) => p.target).sort(), expected);
    for (const p of ports)
      assert.equal(p.published, p.target, `simulator port ${p.target} published elsewhere`);

    const expose = /^EXPOSE\s+(.+)$/m.exec(dockerfile)?.[1] ?? '';
    assert.deepEqual(expose.trim().split(/\s+/).map(Number).sort(), expected);
    assert.ok(
      dockerfile.includes(`process.env.CONTROL_PORT || ${DEFAULT_CONTROL_PORT})`),
      'Dockerfile HEALTHCHECK port',
    );
    const health = JSON.stringify((service('simulator') as { healthcheck?: unknown }).healthcheck);
    assert.ok(health.includes(`127.0.0.1:${DEFAULT_CONTROL_PORT}/health`), `compose healthcheck: ${health}`);
  });

  test('the control API is published on loopback only, the one case where it may run without a token', () => {
    const control = publishedPorts('simulator').find((p) => p.target === DEFAULT_CONTROL_PORT);
    assert.equal(control?.host, '127.0.0.1', 'the control port is published on 127.0.0.1 only');
    const dockerEnv = Object.fromEntries(
      dockerfile
        .split('\n')
        .filter((line) => /^ENV\s/.test(line))
        .flatMap((line) => [...line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)])
        .map((m) => [m[1] as string, m[2] as string]),
    );
    assert.equal(dockerEnv.CONTROL_HOST, '0.0.0.0');
    // The image alone, without a token, refuses to start and says what to set.
    assert.throws(
      () => loadConfig(dockerEnv),
      (error: Error) => /CONTROL_HOST/.test(error.message) && /API_TOKEN/.test(error.message),
    );
    // With the environment compose gives it (${VAR:-} empty when the shell has none), it starts.
    const composeEnv = service('simulator').environment as Record<string, string>;
    const resolved = Object.fromEntries(
      Object.entries(composeEnv).map(([key, value]) => [
        key,
        String(value).replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1'),
      ]),
    );
    const config = loadConfig({ ...dockerEnv, ...resolved });
    assert.equal(config.allowUnauthenticated, true);
    assert.equal(config.apiToken, undefined);
  });

  test('the collector publishes the OTLP and Prometheus ports its config listens on', () => {
    const cfg = collectorPorts('config.yaml');
    assert.equal(cfg.otlpGrpc, 4317);
    assert.equal(cfg.prometheus, 8889);
    assert.notEqual(
      cfg.telemetry,
      DEFAULT_METRICS_PORT,
      'collector telemetry would collide with the simulator',
    );
    const targets = publishedPorts('collector').map((p) => p.target);
    for (const port of [cfg.otlpGrpc, cfg.prometheus, cfg.telemetry])
      assert.ok(targets.includes(port ?? -1), `collector does not publish ${port}`);

    const simulatorEnv = service('simulator').environment;
    assert.ok(simulatorEnv && !Array.isArray(simulatorEnv), 'simulator environment should be a mapping');
    assert.equal(simulatorEnv.OTEL_EXPORTER_OTLP_ENDPOINT, `http://collector:${cfg.otlpGrpc}`);

    const hm = collectorPorts('hostmetrics.yaml');
    assert.deepEqual(
      publishedPorts('hostmetrics-collector').map((p) => p.target),
      [hm.prometheus],
    );
  });

  test('Prometheus scrapes the ports the simulator and the collectors serve', () => {
    const prom = parse(read('otel-collector', 'prometheus.yml')) as any;
    const targets = new Map<string, string>(
      prom.scrape_configs.map((job: { job_name: string; static_configs: { targets: string[] }[] }) => [
        job.job_name,
        job.static_configs[0]?.targets[0],
      ]),
    );
    const cfg = collectorPorts('config.yaml');
    assert.equal(targets.get('simulator'), `simulator:${DEFAULT_METRICS_PORT}`);
    assert.equal(targets.get('collector'), `collector:${cfg.prometheus}`);
    assert.equal(targets.get('collector-telemetry'), `collector:${cfg.telemetry}`);
    assert.equal(
      targets.get('hostmetrics'),
      `hostmetrics-collector:${collectorPorts('hostmetrics.yaml').prometheus}`,
    );
  });

  test('promtool accepts prometheus.yml', () => {
    const [promtool] = requireTools('promtool');
    const { status, output } = run(promtool, ['check', 'config', 'otel-collector/prometheus.yml']);
    assert.equal(status, 0, output);
  });
});
