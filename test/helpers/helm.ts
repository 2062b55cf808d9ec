/**
 * The chart's tests' view of helm: render charts/process-simulator with a set of values (a real helm,
 * built by scripts/k8s-tools-build.sh) and hand back the objects, or the refusal.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'process-simulator');
export const K8S_TOOLS = join(REPO_ROOT, 'build', 'k8s-tools');

/**
 * The path of one of the Kubernetes tools (helm, kubectl, kube-apiserver, etcd).
 * @throws Error telling how to build them when missing: these tests never skip silently
 */
export function k8sTool(name: 'helm' | 'kubectl' | 'kube-apiserver' | 'etcd'): string {
  const path = join(K8S_TOOLS, name);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(
      `build/k8s-tools/${name} is missing; run \`bash scripts/k8s-tools-build.sh\` first (npm test's pretest does)`,
    );
  }
}

/** A Kubernetes object as rendered. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderResult {
  status: number | null;
  /** stdout: the manifests */
  manifest: string;
  stderr: string;
  objects: K8sObject[];
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
}

/** Runs helm with `args`, bounded in time; the output is data, never thrown. */
export function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(k8sTool('helm'), args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 2 ** 20,
    // No cluster, no user config: the same render on every machine.
    env: {
      PATH: process.env.PATH,
      HOME: tmpdir(),
      HELM_CACHE_HOME: join(tmpdir(), 'helm-cache-unused'),
      KUBECONFIG: '/dev/null',
    },
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** `helm template` of the chart with `values` (written to a private temporary file). */
export function renderChart(values: object, options: RenderOptions = {}): RenderResult {
  const dir = mkdtempSync(join(tmpdir(), 'chart-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
    const { status, stdout, stderr } = helm([
      'template',
      options.release ?? 'sim',
      CHART_DIR,
      '--namespace',
      options.namespace ?? 'sims',
      '--values',
      file,
    ]);
    const objects =
      status === 0
        ? parseAllDocuments(stdout)
            .map((doc) => doc.toJS() as K8sObject | null)
            .filter((doc): doc is K8sObject => doc !== null)
        : [];
    return { status, manifest: stdout, stderr, objects };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The one object of `kind` (and `name` when given). */
export function objectOf(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  }
  return found[0] as K8sObject;
}
