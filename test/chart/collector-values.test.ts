/**
 * charts/examples/otel-collector-daemonset-values.yaml, the values for the OpenTelemetry Collector's
 * chart that pair a hostmetrics DaemonSet with the simulator: its collector configuration passes the
 * project's collector build's own validation (with the nulls removed as Helm removes them), and its
 * process filter lets through every name the built-in profiles produce and nothing of the simulator's
 * engine or the node's usual processes. The collector chart itself is not fetched here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { BUILTIN_PROFILES } from '../../src/profiles/builtin.ts';
import { builtinProfile } from '../../src/profiles/load.ts';
import { planProcesses, scaleProfile } from '../../src/profiles/plan.ts';
import { expandName, MAX_COMM_BYTES } from '../../src/profiles/schema.ts';
import { collectorBinary } from '../helpers/collector.ts';
import { CHART_DIR, REPO_ROOT } from '../helpers/helm.ts';

const VALUES_FILE = join(REPO_ROOT, 'charts', 'examples', 'otel-collector-daemonset-values.yaml');
const values = parse(readFileSync(VALUES_FILE, 'utf8')) as Record<string, any>;
const scratch = mkdtempSync(join(tmpdir(), 'collector-values-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** What Helm does to a null in user values: the key goes, with the chart's default under it. */
function withoutNulls(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNulls);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([, value]) => value !== null)
      .map(([key, value]) => [key, withoutNulls(value)]),
  );
}

/** `otelcol validate` of `config`; the host root the pod mounts at /hostfs is a directory here. */
function validate(config: Record<string, any>): { status: number | null; output: string } {
  const hostfs = join(scratch, 'hostfs');
  mkdirSync(hostfs, { recursive: true });
  const copy = structuredClone(config);
  assert.equal(copy.receivers.hostmetrics.root_path, '/hostfs', 'the node root as the pod mounts it');
  copy.receivers.hostmetrics.root_path = hostfs;
  const file = join(scratch, 'config.yaml');
  writeFileSync(file, stringify(copy));
  const result = spawnSync(collectorBinary(), ['validate', '--config', file], {
    encoding: 'utf8',
    timeout: 60_000,
    // What the collector chart puts in the pod's environment, and the file's own extraEnvs.
    env: {
      PATH: process.env.PATH,
      MY_POD_IP: '127.0.0.1',
      OTEL_K8S_NODE_NAME: 'node-a',
      ...Object.fromEntries(
        (values.extraEnvs as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]),
      ),
    },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('collector DaemonSet values', () => {
  const config = withoutNulls(values.config) as Record<string, any>;

  test('its configuration passes the collector’s own validation', () => {
    const { status, output } = validate(config);
    assert.equal(status, 0, output);
  });

  test('the same validation refuses a broken reference, so the pass means something', () => {
    const broken = structuredClone(config);
    broken.service.pipelines.metrics.processors = ['memory_limiter', 'resource/nodes', 'batch'];
    const { status, output } = validate(broken);
    assert.notEqual(status, 0);
    assert.match(output, /resource\/nodes/);
  });

  test('the process scraper reads the node’s root, metrics only, from the simulator and the node', () => {
    assert.deepEqual(Object.keys(config.service.pipelines), ['metrics']);
    assert.deepEqual(config.service.pipelines.metrics.receivers, ['otlp', 'hostmetrics']);
    assert.deepEqual(Object.keys(config.receivers.hostmetrics.scrapers), ['process']);
    const mount = values.extraVolumeMounts.find((m: { mountPath: string }) => m.mountPath === '/hostfs');
    const volume = values.extraVolumes.find((v: { name: string }) => v.name === mount?.name);
    assert.equal(volume?.hostPath?.path, '/', 'the node’s root at /hostfs');
    assert.equal(mount.readOnly, true);
    assert.equal(values.mode, 'daemonset');
    assert.equal(values.presets, undefined, 'no preset: it would add scrapers that cannot be removed');
  });

  test('it runs as the simulator’s uid, without privilege', () => {
    const chartValues = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, number>;
    assert.equal(values.podSecurityContext.runAsUser, chartValues.runAsUser);
    assert.equal(values.podSecurityContext.runAsNonRoot, true);
    assert.equal(values.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(values.securityContext.capabilities, { drop: ['ALL'] });
    assert.equal(values.hostPID, undefined, 'the node’s /proc through /hostfs, not the node’s PID namespace');
  });

  test('its filter takes every name the built-in profiles produce, scaled up, and not the others', () => {
    const include = config.receivers.hostmetrics.scrapers.process.include as {
      match_type: string;
      names: string[];
    };
    assert.equal(include.match_type, 'regexp');
    const patterns = include.names.map((name) => new RegExp(name));
    const matches = (name: string) => patterns.some((pattern) => pattern.test(name));
    let checked = 0;
    for (const profileName of Object.keys(BUILTIN_PROFILES)) {
      const profile = builtinProfile(profileName);
      // A process of another user needs root: the chart refuses such a profile, so it never runs beside
      // this collector.
      if (profile.templates.some((t) => t.quirks?.user !== undefined)) continue;
      for (const total of [undefined, 1, 1000, 10_000]) {
        for (const planned of planProcesses(scaleProfile(profile, total))) {
          const template = planned.template.name;
          for (const generation of [0, 1, 999, 1000]) {
            // As the collector reads it: the comm, at most 15 bytes.
            const comm = Buffer.from(expandName(template, planned.index, generation))
              .subarray(0, MAX_COMM_BYTES)
              .toString();
            assert.ok(matches(comm), `${profileName}: ${comm} (of ${template}) is not included`);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 10_000, `${checked} names`);
    for (const other of [
      'process-simulator',
      'MainThread',
      'node',
      'otelcol-contrib',
      'kubelet',
      'containerd',
      'containerd-shim',
      'pause',
      'kube-proxy',
      'systemd',
      'coredns',
    ]) {
      assert.ok(!matches(other), `${other} is included`);
    }
  });
});
