/**
 * The values the chart's tests render: every mode crossed with a matrix of settings (each built-in
 * profile and an inline one, processes per shard or in total, an existing or a made token, the
 * ServiceMonitor, chaos, OTLP with headers, explicit resources...). The render and the API server
 * tests share them.
 */

/** An inline profile with every pattern kind, churn, and chaos settings of its own. */
export const INLINE_PROFILE = {
  name: 'k8s-inline',
  description: 'every pattern kind, churn and chaos',
  templates: [
    { name: 'edge-proxy', count: 2, priority: 'critical', cpu: 2, memory: 48, threads: 4, fds: 64 },
    {
      name: 'api-{i}',
      count: 6,
      priority: 'high',
      cpu: { pattern: 'spiky', base: 1, peak: 30, every: '1m', for: '10s' },
      memory: { pattern: 'growing', start: 20, max: 90, per_minute: 5, reset: true },
      threads: 3,
      fds: 16,
    },
    {
      name: 'batch-{i}-{g}',
      count: 5,
      priority: 'low',
      cpu: { pattern: 'random', min: 0, max: 12, every: 15 },
      memory: { pattern: 'spiky', base: 8, peak: 40, every: '2m', for: '30s' },
      lifetime: { min: '20s', max: '1m' },
      restart: 'always',
      restart_delay: '5s',
    },
    { name: 'idle-{i}', count: 3, priority: 'medium' },
  ],
  chaos: { failures_per_minute: 1, leaks_per_minute: 2, leak_mib_per_minute: 10, leak_duration: '90s' },
};

export interface ChartCase {
  name: string;
  values: Record<string, unknown>;
}

const MODES = ['daemonset', 'job', 'deployment'] as const;

/** Settings crossed with every mode. */
const VARIANTS: Array<{ name: string; values: (mode: string) => Record<string, unknown> }> = [
  { name: 'defaults', values: () => ({}) },
  {
    name: 'high-cardinality per shard',
    values: () => ({ profile: 'high-cardinality', processesPerShard: 2000 }),
  },
  { name: 'churn alias, seeded', values: () => ({ profile: 'high-churn', seed: 42 }) },
  { name: 'chaos profile', values: () => ({ profile: 'chaos' }) },
  { name: 'inline profile', values: () => ({ inlineProfile: INLINE_PROFILE, processesPerShard: 40 }) },
  {
    name: 'existing token, ServiceMonitor, chaos',
    values: () => ({
      apiToken: { create: false, existingSecret: 'sim-token', key: 'api' },
      serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prom' } },
      chaos: true,
    }),
  },
  {
    name: 'OTLP with headers and attributes',
    values: (mode) => ({
      experimentId: 'exp-2026-12',
      exporter: {
        otlpEndpoint: mode === 'daemonset' ? 'http://$(K8S_NODE_IP):4317' : 'http://otel.monitoring:4317',
        headersSecret: { name: 'otlp-headers', key: 'headers' },
        interval: '15s',
        simulationAttributes: false,
        optionalMetrics: true,
        resourceAttributes: { 'deployment.environment': 'perf', team: 'observability' },
      },
      logLevel: 'debug',
    }),
  },
  {
    name: 'explicit resources, scheduling',
    values: () => ({
      resources: { cpu: '1500m', memory: '3Gi', memoryLimitRatio: 0 },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'perf', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] },
            ],
          },
        },
      },
      podLabels: { team: 'observability' },
      podAnnotations: { 'example.com/owner': 'perf' },
      imagePullSecrets: [{ name: 'registry-credentials' }],
      priorityClassName: 'perf-low',
      extraEnv: [
        { name: 'MAX_DURATION', value: '2h' },
        { name: 'ALLOW_CPU_OVERCOMMIT', value: 'true' },
      ],
    }),
  },
];

/** Settings that only job mode has. */
const JOB_CASES: ChartCase[] = [
  { name: 'job: total over shards', values: { mode: 'job', processCount: 1000, shards: 7, duration: '30m' } },
  {
    name: 'job: fixed start, no verdict, ttl and deadline',
    values: {
      mode: 'job',
      shards: 2,
      duration: '90s',
      startAt: '2030-01-01T10:00:00Z',
      linger: '3m',
      verdict: { enabled: false },
      job: { retriesPerShard: 0, activeDeadline: '1h', ttlAfterFinished: '1d' },
    },
  },
  {
    name: 'job: verdict waits as told, inline total',
    values: {
      mode: 'job',
      shards: 4,
      inlineProfile: INLINE_PROFILE,
      processCount: 333,
      verdict: { wait: '45m' },
      resources: { podPidsLimit: 4096 },
    },
  },
];

/** Every case: each variant in each mode, then the job-only ones. */
export function chartCases(): ChartCase[] {
  const cases: ChartCase[] = [];
  for (const mode of MODES) {
    for (const variant of VARIANTS) {
      cases.push({ name: `${mode}: ${variant.name}`, values: { mode, ...variant.values(mode) } });
    }
  }
  return [...cases, ...JOB_CASES];
}
