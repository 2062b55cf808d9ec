/**
 * Every object the chart renders, for every case of the matrix, is accepted by a real Kubernetes API
 * server (kube-apiserver 1.37 on etcd, on loopback) in a server-side dry run with strict field
 * validation: the API types' own decoding, defaulting and validation, admission included, and the
 * Prometheus Operator's real ServiceMonitor CRD. A misspelled field, injected anywhere in a rendered
 * object or written into a template of the chart, is refused with "unknown field".
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CHART_DIR, helm, type K8sObject, REPO_ROOT, renderChart } from '../helpers/helm.ts';
import { type KubeApiServer, startKubeApiServer } from '../helpers/kube-apiserver.ts';
import { chartCases } from './cases.ts';

const NAMESPACE = 'sims';
const SERVICE_MONITOR_CRD = join(
  REPO_ROOT,
  'build',
  'k8s-crds',
  'monitoring.coreos.com_servicemonitors.yaml',
);

let server: KubeApiServer;

before(async () => {
  server = await startKubeApiServer();
  const namespace = server.kubectl(['create', 'namespace', NAMESPACE]);
  assert.equal(namespace.status, 0, namespace.stderr);
  const crd = server.kubectl(['create', '-f', SERVICE_MONITOR_CRD]);
  assert.equal(crd.status, 0, crd.stderr);
  const established = server.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/servicemonitors.monitoring.coreos.com',
  ]);
  assert.equal(established.status, 0, established.stderr);
});

after(async () => {
  await server?.stop();
});

/** A server-side dry run of `objects` with strict field validation. */
function dryRun(objects: K8sObject[]) {
  const manifest = objects.map((o) => `---\n${stringify(o)}`).join('');
  return server.kubectl(
    ['create', '--dry-run=server', '--validate=strict', '--namespace', NAMESPACE, '--output=name', '-f', '-'],
    manifest,
  );
}

describe('server-side dry run with strict validation', () => {
  for (const { name, values } of chartCases()) {
    test(name, () => {
      const rendered = renderChart(values, { namespace: NAMESPACE });
      assert.equal(rendered.status, 0, rendered.stderr);
      const result = dryRun(rendered.objects);
      assert.equal(result.status, 0, `${result.stderr}\n${server.logs().slice(-2000)}`);
      const accepted = result.stdout.trim().split('\n');
      assert.deepEqual(
        accepted.map((line) => line.split('/')[1]).sort(),
        rendered.objects.map((o) => o.metadata.name).sort(),
        `every object accepted: ${result.stdout}`,
      );
      assert.equal(result.stderr.trim(), '', 'no warning either');
    });
  }

  test('a dry run stores nothing', () => {
    const listed = server.kubectl([
      'get',
      'jobs,daemonsets,deployments,services,secrets,configmaps,servicemonitors',
      '--namespace',
      NAMESPACE,
      '--output=name',
    ]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal(listed.stdout.trim(), '');
  });
});

/** Maps whose keys are free (labels, data, resource names...): a new key there is no misspelling. */
const FREE_FORM = new Set([
  'labels',
  'annotations',
  'matchLabels',
  'nodeSelector',
  'data',
  'requests',
  'limits',
]);

/** Paths (as key lists) of every object key of `node` a misspelling can go to. */
function fieldPaths(
  node: unknown,
  kind: string,
  path: Array<string | number> = [],
): Array<Array<string | number>> {
  if (Array.isArray(node)) return node.flatMap((item, i) => fieldPaths(item, kind, [...path, i]));
  if (node === null || typeof node !== 'object') return [];
  const parent = path[path.length - 1];
  if (typeof parent === 'string' && FREE_FORM.has(parent)) return [];
  // A Service's selector is a map of labels; a workload's is an object with fields.
  if (kind === 'Service' && parent === 'selector') return [];
  return Object.entries(node).flatMap(([key, value]) => [
    [...path, key],
    ...fieldPaths(value, kind, [...path, key]),
  ]);
}

/** `object` with the key at `path` renamed to `misspelled`. */
function renamed(object: K8sObject, path: Array<string | number>, misspelled: string): K8sObject {
  const copy = structuredClone(object) as unknown as Record<string | number, unknown>;
  let node = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const key = path[path.length - 1] as string;
  node[misspelled] = node[key];
  delete node[key];
  return copy as unknown as K8sObject;
}

describe('a misspelled field is refused', () => {
  const cases = chartCases().filter((c) => c.name.includes('ServiceMonitor') || c.name.includes('inline'));
  const rendered = cases.map((c) => renderChart(c.values, { namespace: NAMESPACE }).objects);

  test('anywhere in any rendered object (generated misspellings)', () => {
    const targets = rendered.flatMap((objects) =>
      objects.flatMap((object) =>
        fieldPaths(object, object.kind)
          // apiVersion and kind pick the type itself; metadata.name is checked apart.
          .filter((path) => path.length > 1 || !['apiVersion', 'kind'].includes(path[0] as string))
          .map((path) => ({ object, path })),
      ),
    );
    assert.ok(targets.length > 500, `${targets.length} places to misspell`);
    fc.assert(
      fc.property(fc.nat(targets.length - 1), fc.constantFrom('suffix', 'swap', 'case'), (at, how) => {
        const { object, path } = targets[at] as (typeof targets)[number];
        const key = path[path.length - 1] as string;
        const misspelled =
          how === 'suffix'
            ? `${key}x`
            : how === 'swap' && key.length > 2
              ? `${key.slice(0, -2)}${key.at(-1)}${key.at(-2)}`
              : key === key.toLowerCase()
                ? `${key.slice(0, 1).toUpperCase()}${key.slice(1)}`
                : key.toLowerCase();
        if (misspelled === key) return true;
        const result = dryRun([renamed(object, path, misspelled)]);
        assert.notEqual(result.status, 0, `${object.kind} ${path.join('.')} -> ${misspelled} was accepted`);
        assert.match(result.stderr, /unknown field/, `${path.join('.')}: ${result.stderr}`);
        assert.ok(result.stderr.includes(misspelled), `the error names ${misspelled}: ${result.stderr}`);
        return true;
      }),
      { numRuns: 40, endOnFailure: true },
    );
  });

  test('when the misspelling is in a template of the chart', () => {
    const copy = mkdtempSync(join(tmpdir(), 'chart-copy-'));
    try {
      cpSync(CHART_DIR, copy, { recursive: true });
      for (const [file, field] of [
        ['job.yaml', 'completionMode'],
        ['_pod.tpl', 'readOnlyRootFilesystem'],
        ['servicemonitor.yaml', 'scrapeTimeout'],
      ] as const) {
        const path = join(copy, 'templates', file);
        const original = readFileSync(path, 'utf8');
        assert.ok(original.includes(`${field}:`), `${file} sets ${field}`);
        writeFileSync(path, original.replace(`${field}:`, `${field}s:`));
        const rendered = helm([
          'template',
          'sim',
          copy,
          '--namespace',
          NAMESPACE,
          '--set',
          'serviceMonitor.enabled=true',
        ]);
        assert.equal(rendered.status, 0, rendered.stderr);
        const result = server.kubectl(
          ['create', '--dry-run=server', '--validate=strict', '--namespace', NAMESPACE, '-f', '-'],
          rendered.stdout,
        );
        assert.notEqual(result.status, 0, `${field}s in ${file} was accepted`);
        assert.match(result.stderr, new RegExp(`unknown field "[^"]*${field}s"`));
        writeFileSync(path, original);
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
