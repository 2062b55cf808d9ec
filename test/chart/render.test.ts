/**
 * The chart, rendered by a real helm for every mode and a matrix of values, produces what the
 * simulator needs: the environment of each pod passes the simulator's own configuration parser and
 * says what the values asked for (shard of a run, start, linger, token, OTLP...), the inline profile
 * passes its profile loader, the resources cover the fullest shard, every pod runs without privilege,
 * the probes, Service, Jobs and ServiceMonitor point at each other.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { ENV_VARS } from '../../src/config/defaults.ts';
import { profileDemand } from '../../src/profiles/demand.ts';
import { builtinProfile, loadProfileFile, validateProfile } from '../../src/profiles/load.ts';
import { planProcesses, scaleProfile, shardProfile } from '../../src/profiles/plan.ts';
import { parseDuration } from '../../src/profiles/units.ts';
import { helm, type K8sObject, objectOf, REPO_ROOT, renderChart } from '../helpers/helm.ts';
import { LAUNCH_ENV } from '../helpers/launch.ts';
import { type ChartCase, chartCases } from './cases.ts';
import { type Container, type PodSpec, podTemplateOf, resolveEnv, workloadOf } from './pods.ts';

const scratch = mkdtempSync(join(tmpdir(), 'chart-render-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const MIB = 2 ** 20;
/** The Dockerfile's CMD: the chart runs the image as the image runs itself. */
const IMAGE_CMD = JSON.parse(
  /^CMD (\[.*\])$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? 'null',
) as string[];

describe('helm lint', () => {
  test('passes --strict with the default values and with every case of the matrix', () => {
    const lint = (args: string[]) => helm(['lint', '--strict', 'charts/process-simulator', ...args]);
    const plain = lint([]);
    assert.equal(plain.status, 0, plain.stdout + plain.stderr);
    for (const { name, values } of chartCases()) {
      const file = join(scratch, 'lint-values.json');
      writeFileSync(file, JSON.stringify(values));
      const result = lint(['--values', file]);
      assert.equal(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
    }
  });
});

describe('helm template, every mode x the matrix of values', () => {
  for (const chartCase of chartCases()) {
    test(chartCase.name, () => checkCase(chartCase));
  }
});

function checkCase({ name, values }: ChartCase): void {
  const rendered = renderChart(values);
  assert.equal(rendered.status, 0, `${name}: ${rendered.stderr}`);
  const { objects } = rendered;
  const mode = values.mode as string;
  const workload = workloadOf(objects, mode);
  const template = podTemplateOf(workload);
  const pod = template.spec;
  const container = pod.containers.find((c) => c.name === 'simulator') as Container;
  assert.ok(container, 'the simulator container');

  checkSecurity(pod);
  checkEnvNames(container);
  assert.deepEqual(
    (container as Container & { command: string[] }).command,
    IMAGE_CMD,
    'the image’s own command line (its launch flags included)',
  );
  const service = objectOf(objects, 'Service');
  checkProbesAndService(container, service, workload);
  checkServiceMonitor(objects, service, values);

  // The environment, resolved as the kubelet would, passes the simulator's own parser.
  const shards = mode === 'job' ? (workload.spec as { completions: number }).completions : 1;
  const profile = profileOf(objects, pod, container, values);
  const configs = [];
  for (let index = 0; index < shards; index++) {
    const env = resolveEnv(container.env, objects, {
      jobIndex: mode === 'job' ? index : undefined,
      profileFile: profile.file,
    });
    configs.push(loadConfig(env));
  }
  const config = configs[0] as ReturnType<typeof loadConfig>;
  assert.deepEqual(
    configs.map((c) => c.shard),
    configs.map((_, index) => ({ index, count: shards })),
    'each pod is one shard of the run',
  );
  assert.equal(config.controlHost, '0.0.0.0', 'the API is reachable on the pod address (probes, verdict)');
  assert.ok(
    config.apiToken && config.apiToken.length >= 16,
    'a token guards the API that listens beyond loopback',
  );
  assert.equal(config.autoStart, true);
  const perShard = values.processesPerShard as number | undefined;
  const total =
    mode === 'job'
      ? ((values.processCount as number | undefined) ??
        (perShard === undefined ? undefined : perShard * shards))
      : perShard;
  assert.equal(config.processCount, total, 'PROCESS_COUNT');
  assert.equal(config.seed, values.seed as number | undefined, 'SEED');
  if (mode === 'job') {
    assert.equal(
      config.durationMs,
      parseDuration((values.duration as string | undefined) ?? '10m'),
      'DURATION',
    );
    assert.equal(config.lingerMs, parseDuration((values.linger as string | undefined) ?? '10m'), 'LINGER');
    assert.ok(config.startAtMs !== undefined, 'every shard starts at one START_AT');
    if (values.startAt) assert.equal(config.startAtMs, Date.parse(values.startAt as string));
  } else {
    assert.equal(config.durationMs, undefined, 'a long-running pod has no DURATION');
    assert.equal(config.startAtMs, undefined);
  }
  const exporter = (values.exporter ?? {}) as Record<string, unknown>;
  assert.equal(config.otlp.enabled, Boolean(exporter.otlpEndpoint), 'OTLP push only with an endpoint');
  if (exporter.otlpEndpoint) {
    assert.equal(
      config.otlp.endpoint,
      (exporter.otlpEndpoint as string).replace('$(K8S_NODE_IP)', '10.0.0.7'),
    );
  }
  assert.equal(config.exportIntervalMs, parseDuration((exporter.interval as string | undefined) ?? '10s'));
  assert.equal(config.resourceAttributes['k8s.pod.name'], 'sim-pod-0', 'the pod name reaches the resource');
  if (values.experimentId) assert.equal(config.resourceAttributes['experiment.id'], values.experimentId);
  assert.equal(config.enableChaos, values.chaos === true, 'ENABLE_CHAOS');

  // Names the API answers for: the Service's, and in job mode each pod's own <job>-<index>.<service>.
  const namespace = 'sims';
  const serviceName = service.metadata.name;
  for (const [index, c] of configs.entries()) {
    for (const name of [
      serviceName,
      `${serviceName}.${namespace}.svc`,
      `${serviceName}.${namespace}.svc.cluster.local`,
    ]) {
      assert.ok(c.allowedHosts.includes(name), `ALLOWED_HOSTS has ${name}: ${c.allowedHosts.join(',')}`);
    }
    if (mode === 'job') {
      const pod = `${workload.metadata.name}-${index}.${serviceName}.${namespace}.svc`;
      assert.ok(c.allowedHosts.includes(pod), `ALLOWED_HOSTS has ${pod}`);
    }
  }

  if (mode === 'job') {
    checkJob(workload, objects, service, values, planProcesses(scaleProfile(profile.profile, total)).length);
  }
  checkResources(container, template.metadata.annotations, values, profile.profile, total, shards);
}

/** The profile a pod runs: the built-in one named in PROFILE, or the ConfigMap's, loaded as the pod would. */
function profileOf(
  objects: K8sObject[],
  pod: PodSpec,
  container: Container,
  values: Record<string, unknown>,
) {
  const profileFile = container.env.find((e) => e.name === 'PROFILE_FILE')?.value;
  if (!values.inlineProfile) {
    assert.equal(profileFile, undefined);
    return {
      profile: builtinProfile((values.profile as string | undefined) ?? 'realistic'),
      file: undefined,
    };
  }
  assert.ok(profileFile, 'an inline profile is read through PROFILE_FILE');
  const mount = container.volumeMounts.find((m) => m.mountPath === dirname(profileFile));
  assert.ok(mount, `a volume is mounted at ${dirname(profileFile)}`);
  const volume = pod.volumes.find((v) => v.name === mount.name) as { configMap?: { name: string } };
  assert.ok(volume?.configMap, 'from a ConfigMap');
  const configMap = objectOf(objects, 'ConfigMap', volume.configMap.name) as K8sObject & {
    data: Record<string, string>;
  };
  const text = configMap.data[basename(profileFile)];
  assert.ok(text, `the ConfigMap holds ${basename(profileFile)}`);
  const file = join(scratch, 'profile.yaml');
  writeFileSync(file, text);
  const profile = loadProfileFile(file);
  assert.deepEqual(profile, validateProfile(values.inlineProfile), 'the mounted profile is the inline one');
  return { profile, file };
}

function checkSecurity(pod: PodSpec): void {
  const podContext = pod.securityContext as Record<string, unknown>;
  assert.equal(podContext.runAsNonRoot, true);
  assert.ok((podContext.runAsUser as number) > 0, 'a fixed non-root uid');
  assert.deepEqual(podContext.seccompProfile, { type: 'RuntimeDefault' });
  for (const key of ['hostPID', 'hostIPC', 'hostNetwork', 'shareProcessNamespace']) {
    assert.equal((pod as unknown as Record<string, unknown>)[key], undefined, key);
  }
  assert.equal(pod.automountServiceAccountToken, false, 'no API credentials in the pod');
  for (const container of pod.containers) {
    const context = container.securityContext as Record<string, unknown>;
    assert.equal(context.allowPrivilegeEscalation, false, container.name);
    assert.equal(context.privileged, false, container.name);
    assert.equal(context.readOnlyRootFilesystem, true, container.name);
    assert.deepEqual(context.capabilities, { drop: ['ALL'] }, container.name);
  }
  for (const volume of pod.volumes) {
    assert.equal(
      (volume as Record<string, unknown>).hostPath,
      undefined,
      `volume ${volume.name} is no hostPath`,
    );
  }
  // A read-only root: the runtime directory and the control file need these.
  const simulator = pod.containers.find((c) => c.name === 'simulator');
  if (!simulator) return;
  const mounted = new Map(simulator.volumeMounts.map((m) => [m.mountPath, m.name]));
  for (const path of ['/tmp', '/dev/shm']) {
    const volume = pod.volumes.find((v) => v.name === mounted.get(path)) as { emptyDir?: unknown };
    assert.ok(volume?.emptyDir, `${path} is a writable emptyDir`);
  }
}

/**
 * Names the simulator reads, the pod's identity from the downward API that a value refers to, or the
 * C library's settings of every launcher.
 */
function checkEnvNames(container: Container): void {
  const names = container.env.map((e) => e.name);
  assert.equal(new Set(names).size, names.length, `no name twice: ${names.join(', ')}`);
  for (const [name, value] of Object.entries(LAUNCH_ENV))
    assert.equal(
      container.env.find((e) => e.name === name)?.value,
      value,
      `${name} as every launcher sets it`,
    );
  for (const env of container.env) {
    if (env.name in ENV_VARS || env.name in LAUNCH_ENV) continue;
    assert.match(env.name, /^K8S_[A-Z_]+$/, `${env.name} is neither a simulator setting nor a K8S_ identity`);
    assert.ok(env.valueFrom?.fieldRef, `${env.name} comes from the downward API`);
  }
  assert.ok(
    !Object.keys(ENV_VARS).some((name) => name.startsWith('K8S_')),
    'the simulator reads no K8S_ name',
  );
  assert.ok(
    container.env.find((e) => e.name === 'API_TOKEN')?.valueFrom?.secretKeyRef,
    'the token comes from a Secret',
  );
}

function checkProbesAndService(container: Container, service: K8sObject, workload: K8sObject): void {
  const port = (name: string) => container.ports.find((p) => p.name === name)?.containerPort;
  const envPort = (name: string) => Number(container.env.find((e) => e.name === name)?.value);
  assert.equal(port('control'), envPort('CONTROL_PORT'));
  assert.equal(port('metrics'), envPort('METRICS_PORT'));
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    const httpGet = (container[probe] as { httpGet?: { path: string; port: string } } | undefined)?.httpGet;
    assert.deepEqual(httpGet, { path: '/health', port: 'control' }, probe);
  }
  assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
  const spec = service.spec as {
    clusterIP: string;
    selector: Record<string, string>;
    ports: Array<{ name: string; targetPort: string }>;
  };
  assert.equal(spec.clusterIP, 'None', 'headless: one address per shard');
  const labels = (workload.spec as { template: { metadata: { labels: Record<string, string> } } }).template
    .metadata.labels;
  for (const [key, value] of Object.entries(spec.selector))
    assert.equal(labels[key], value, `selects ${key}`);
  assert.deepEqual(spec.ports.map((p) => p.targetPort).sort(), ['control', 'metrics']);
  const selector = (workload.spec as { selector?: { matchLabels: Record<string, string> } }).selector;
  if (selector)
    for (const [key, value] of Object.entries(selector.matchLabels)) assert.equal(labels[key], value);
}

function checkJob(
  job: K8sObject,
  objects: K8sObject[],
  service: K8sObject,
  values: Record<string, unknown>,
  runProcesses: number,
): void {
  const spec = job.spec as Record<string, any>;
  const shards = (values.shards as number | undefined) ?? 3;
  assert.equal(spec.completionMode, 'Indexed');
  assert.equal(spec.completions, shards);
  assert.equal(spec.parallelism, shards, 'every shard runs at once');
  assert.equal(spec.template.spec.restartPolicy, 'Never');
  assert.equal(spec.template.spec.subdomain, service.metadata.name, 'each shard is <pod>.<service>');
  assert.ok(Number.isInteger(spec.backoffLimitPerIndex));
  assert.ok(spec.activeDeadlineSeconds > 0, 'a hung run ends as a failed Job');
  const rules = spec.podFailurePolicy.rules as Array<{ action: string; onExitCodes?: { values: number[] } }>;
  const onExit = (code: number) => rules.find((r) => r.onExitCodes?.values.includes(code))?.action;
  assert.equal(onExit(2), 'FailJob', 'bad settings fail the Job at once');
  assert.equal(onExit(1), 'FailIndex', 'a failed run fails its shard');
  const verdictEnabled = (values.verdict as { enabled?: boolean } | undefined)?.enabled !== false;
  const verdicts = objects.filter((o) => o.kind === 'Job' && o.metadata.name.endsWith('-verdict'));
  assert.equal(verdicts.length, verdictEnabled ? 1 : 0, 'the verdict Job when enabled');
  if (!verdictEnabled) return;
  const verdict = verdicts[0] as K8sObject;
  const vspec = verdict.spec as Record<string, any>;
  assert.equal(vspec.backoffLimit, 0, 'a verdict is given once');
  const vcontainer = vspec.template.spec.containers[0] as Container & {
    args: string[];
    terminationMessagePath: string;
  };
  assert.equal(vcontainer.terminationMessagePath, '/dev/termination-log');
  assert.equal(vcontainer.terminationMessagePolicy, 'FallbackToLogsOnError');
  const args = vcontainer.args;
  assert.equal(args[0], 'fleet');
  assert.ok(!args.includes(''), 'no empty argument');
  const flags = new Map(
    args.slice(1).map((arg) => {
      const match = /^(--[a-z-]+)=(.+)$/.exec(arg);
      assert.ok(match, `${arg} is --flag=value`);
      return [match[1] as string, match[2] as string];
    }),
  );
  const controlPort = (service.spec as { ports: Array<{ name: string; port: number }> }).ports.find(
    (p) => p.name === 'control',
  )?.port;
  assert.equal(flags.get('--shards'), `dns:${service.metadata.name}.sims.svc:${controlPort}`);
  assert.equal(flags.get('--expect-shards'), String(shards));
  assert.equal(flags.get('--expect-processes'), String(runProcesses), 'the run’s processes in all');
  assert.equal(flags.get('--expect-state'), 'ended', 'a Job’s verdict waits for every shard to complete');
  assert.ok(parseDuration(flags.get('--wait') as string) > 0);
  assert.equal(flags.get('--termination-log'), '/dev/termination-log');
  assert.ok(
    (vcontainer.env as Container['env']).find((e) => e.name === 'API_TOKEN')?.valueFrom?.secretKeyRef,
    'the verdict has the token, should reads ever need it',
  );
  checkSecurity(vspec.template.spec as PodSpec);
}

/** The ServiceMonitor, when enabled, selects the headless Service and scrapes its metrics port. */
function checkServiceMonitor(
  objects: K8sObject[],
  service: K8sObject,
  values: Record<string, unknown>,
): void {
  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
  const enabled = (values.serviceMonitor as { enabled?: boolean } | undefined)?.enabled === true;
  assert.equal(monitors.length, enabled ? 1 : 0, 'a ServiceMonitor only when enabled');
  if (!enabled) return;
  const spec = (monitors[0] as K8sObject).spec as {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: Array<{ port: string; path: string }>;
  };
  for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
    assert.equal(service.metadata.labels?.[key], value, `the Service carries ${key}=${value}`);
  }
  assert.deepEqual(spec.namespaceSelector.matchNames, ['sims']);
  const ports = (service.spec as { ports: Array<{ name: string }> }).ports.map((p) => p.name);
  for (const endpoint of spec.endpoints) {
    assert.ok(ports.includes(endpoint.port), `the Service has the port ${endpoint.port}`);
    assert.equal(endpoint.path, '/metrics');
  }
  const labels = (values.serviceMonitor as { labels?: Record<string, string> }).labels ?? {};
  for (const [key, value] of Object.entries(labels)) {
    assert.equal(
      (monitors[0] as K8sObject).metadata.labels?.[key],
      value,
      'its labels, for the operator to find it',
    );
  }
}

/**
 * The requests cover the fullest shard: its processes at their peaks, plus the engine's and the
 * kernel's share; the pod's annotations say what was derived.
 */
function checkResources(
  container: Container,
  annotations: Record<string, string>,
  values: Record<string, unknown>,
  profile: ReturnType<typeof builtinProfile>,
  total: number | undefined,
  shards: number,
): void {
  const scaled = scaleProfile(profile, total);
  let fullest = { processes: 0, memoryBytes: 0, threads: 0, cpuPercent: 0 };
  for (let index = 0; index < shards; index++) {
    const shard = { index, count: shards };
    const demand = profileDemand(shardProfile(scaled, shard));
    assert.equal(demand.processes, planProcesses(scaled, shard).length);
    fullest = {
      processes: Math.max(fullest.processes, demand.processes),
      memoryBytes: Math.max(fullest.memoryBytes, demand.memoryBytes),
      threads: Math.max(fullest.threads, demand.threads),
      cpuPercent: Math.max(fullest.cpuPercent, demand.cpuPercent),
    };
  }
  const memoryMiB = Number(annotations['process-simulator/memory-mib']);
  assert.ok(Number(annotations['process-simulator/processes-per-shard']) >= fullest.processes);
  assert.ok(Number(annotations['process-simulator/tasks-per-shard']) >= fullest.threads);
  assert.ok(Number(annotations['process-simulator/pids-needed']) > fullest.threads);
  // 224 MiB of engine at least, whatever the profile (values.yaml's overhead.engineMiB).
  assert.ok(
    memoryMiB >= fullest.memoryBytes / MIB + 224,
    `${memoryMiB} MiB covers ${fullest.memoryBytes / MIB} MiB`,
  );
  assert.ok(Number(annotations['process-simulator/milli-cpu']) >= fullest.cpuPercent * 10);
  const resources = values.resources as
    | { cpu?: string; memory?: string; memoryLimitRatio?: number }
    | undefined;
  const requests = container.resources.requests as Record<string, string>;
  assert.equal(requests.memory, resources?.memory ?? `${memoryMiB}Mi`);
  assert.equal(requests.cpu, resources?.cpu ?? `${annotations['process-simulator/milli-cpu']}m`);
  assert.equal(container.resources.limits?.cpu, undefined, 'no CPU quota to throttle the patterns');
  if (resources?.memoryLimitRatio === 0) assert.equal(container.resources.limits?.memory, undefined);
  else if (!resources?.memory)
    assert.equal(container.resources.limits?.memory, `${Math.ceil(memoryMiB * 1.5)}Mi`);
}

describe('rendering refuses what a pod would refuse later', () => {
  const refused = (values: Record<string, unknown>, pattern: RegExp) => {
    const result = renderChart(values);
    assert.notEqual(result.status, 0, `${JSON.stringify(values)} rendered`);
    assert.match(result.stderr, pattern);
  };
  test('a shard above the simulator’s process cap, naming the cap', () => {
    refused(
      { processCount: 100_000, shards: 2 },
      /up to 50000 processes, above the simulator's cap of 12000/,
    );
    refused(
      { processesPerShard: 12_000, shards: 9 },
      /processesPerShard x shards = 108000 .* at most 100000/,
    );
  });
  test('a shard above the kubelet’s pid limit, naming both', () => {
    refused(
      { profile: 'high-cardinality', resources: { podPidsLimit: 200 } },
      /needs up to \d+ tasks .* resources\.podPidsLimit=200/,
    );
  });
  test('processCount with processesPerShard, or outside job mode', () => {
    refused(
      { processCount: 10, processesPerShard: 2 },
      /processCount=10 and processesPerShard=2: set one of them/,
    );
    refused({ mode: 'deployment', processCount: 10 }, /processCount=10 splits one run .* deployment mode/);
  });
  test('a bad duration inside an inline profile, naming the field', () => {
    const inline = {
      name: 'bad-duration',
      templates: [{ name: 'a', count: 1, priority: 'low', lifetime: '5 minutes' }],
    };
    refused({ inlineProfile: inline }, /inlineProfile|lifetime/);
  });
  test('a process of another user, which needs root, in a built-in or an inline profile', () => {
    refused(
      { profile: 'edge-cases' },
      /profile: edge-cases runs a process as another user .* needs the simulator to run as root/,
    );
    const inline = {
      name: 'other-user',
      templates: [{ name: 'x', count: 1, priority: 'low', quirks: { user: 'nobody' } }],
    };
    refused(
      { inlineProfile: inline },
      /templates\[0\]\.quirks\.user: running a process as nobody needs the simulator to run as root/,
    );
    // The other quirks need no privilege.
    const harmless = {
      name: 'quirky',
      templates: [{ name: 'x', count: 1, priority: 'low', quirks: { stopped: true, comm: 'odd (name)' } }],
    };
    assert.equal(renderChart({ inlineProfile: harmless }).status, 0);
  });
  test('a Job start time without a zone', () => {
    refused({ startAt: '2030-01-01T10:00:00' }, /startAt/);
  });
});
