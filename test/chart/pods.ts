/**
 * Reading rendered pods as the kubelet would: the workload of a mode, its pod template, and a
 * container's environment resolved (downward API, Secrets of the render, $(VAR) references, the
 * Indexed Job's JOB_COMPLETION_INDEX) into the variables the process would see.
 */
import { type K8sObject, objectOf } from '../helpers/helm.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

export interface Container {
  name: string;
  env: EnvVar[];
  ports: Array<{ name: string; containerPort: number }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  terminationMessagePolicy?: string;
  startupProbe?: unknown;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}

export interface PodSpec {
  containers: Container[];
  volumes: Array<{ name: string; [key: string]: unknown }>;
  securityContext: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  subdomain?: string;
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: PodSpec;
}

const WORKLOAD_KIND: Record<string, string> = {
  daemonset: 'DaemonSet',
  job: 'Job',
  deployment: 'Deployment',
};

/** The simulator workload of `mode` (in job mode the Job that is not the verdict). */
export function workloadOf(objects: K8sObject[], mode: string): K8sObject {
  const kind = WORKLOAD_KIND[mode];
  if (!kind) throw new Error(`unknown mode ${mode}`);
  const candidates = objects.filter(
    (o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === 'simulator',
  );
  if (candidates.length !== 1) throw new Error(`expected one simulator ${kind}, found ${candidates.length}`);
  for (const other of Object.values(WORKLOAD_KIND)) {
    if (other === kind) continue;
    const extra = objects.filter(
      (o) => o.kind === other && o.metadata.labels?.['app.kubernetes.io/component'] === 'simulator',
    );
    if (extra.length > 0) throw new Error(`mode ${mode} also rendered a simulator ${other}`);
  }
  return candidates[0] as K8sObject;
}

export function podTemplateOf(workload: K8sObject): PodTemplate {
  return (workload.spec as { template: PodTemplate }).template;
}

export function podSpecOf(workload: K8sObject): PodSpec {
  return podTemplateOf(workload).spec;
}

export interface PodIdentity {
  /** the Indexed Job's index of this pod, or undefined outside job mode */
  jobIndex?: number | undefined;
  /** where the pod's profile file is on this machine (the ConfigMap's text, written by the test) */
  profileFile?: string | undefined;
}

/** A Secret of the render decoded, or the stand-in an existing Secret of the cluster would hold. */
function secretValue(objects: K8sObject[], name: string, key: string): string {
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as
    | (K8sObject & { data: Record<string, string> })
    | undefined;
  // Shaped to pass as a token and as OTLP headers (k=v) alike.
  if (!secret) return `x-existing-secret=${name}.${key}`;
  const encoded = secret.data[key];
  if (encoded === undefined) throw new Error(`Secret ${name} has no key ${key}`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * The environment the container's process gets. $(NAME) refers to a variable defined earlier in the
 * list, as Kubernetes expands it; the downward API gives a fixed pod name, namespace and node.
 */
export function resolveEnv(
  env: EnvVar[],
  objects: K8sObject[],
  identity: PodIdentity,
): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': `sim-pod-${identity.jobIndex ?? 0}`,
    'metadata.namespace': 'sims',
    'spec.nodeName': 'node-a',
    'status.hostIP': '10.0.0.7',
    // The Job controller labels an Indexed Job's pods with their index.
    ...(identity.jobIndex === undefined
      ? {}
      : { "metadata.labels['batch.kubernetes.io/job-completion-index']": String(identity.jobIndex) }),
  };
  const out: Record<string, string> = {};
  // The Job controller adds the index to every container of an Indexed Job's pod.
  if (identity.jobIndex !== undefined) out.JOB_COMPLETION_INDEX = String(identity.jobIndex);
  for (const variable of env) {
    let value: string;
    if (variable.valueFrom?.fieldRef) {
      const field = fields[variable.valueFrom.fieldRef.fieldPath];
      if (field === undefined) throw new Error(`no stand-in for ${variable.valueFrom.fieldRef.fieldPath}`);
      value = field;
    } else if (variable.valueFrom?.secretKeyRef) {
      value = secretValue(objects, variable.valueFrom.secretKeyRef.name, variable.valueFrom.secretKeyRef.key);
    } else {
      value = (variable.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) =>
        name in out ? (out[name] as string) : whole,
      );
    }
    out[variable.name] = value;
  }
  if (identity.profileFile && out.PROFILE_FILE) out.PROFILE_FILE = identity.profileFile;
  return out;
}

export { objectOf };
