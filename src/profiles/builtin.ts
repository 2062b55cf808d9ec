/**
 * The built-in profiles. Names stay within Linux's 15-byte process name limit (schema checks it).
 * CPU is in percent of one core, memory in MiB. Totals are kept modest on purpose: the default
 * realistic run should not saturate a 2-core machine.
 */
import type { ProfileInput } from './schema.ts';

const realistic: ProfileInput = {
  name: 'realistic',
  description:
    'A production-like host: nginx, postgres, redis, python and node services, browser tabs, cron jobs',
  templates: [
    { name: 'sshd', count: 1, priority: 'critical', memory: 6, fds: 8, args: ['-D'] },
    {
      name: 'nginx-master',
      count: 1,
      priority: 'critical',
      cpu: 0.2,
      memory: 8,
      fds: 12,
      args: ['-g', 'daemon off;'],
    },
    {
      name: 'nginx-worker',
      count: 4,
      priority: 'high',
      cpu: { pattern: 'spiky', base: 1, peak: 12, every: '40s', for: '5s' },
      memory: 24,
      fds: 64,
    },
    {
      name: 'postgres',
      count: 1,
      priority: 'critical',
      cpu: { pattern: 'random', min: 0.5, max: 5, every: '15s' },
      memory: 96,
      threads: 1,
      fds: 40,
      args: ['-D', '/var/lib/postgresql/16/main'],
    },
    { name: 'pg-walwriter', count: 1, priority: 'high', cpu: 0.3, memory: 12, fds: 16 },
    {
      name: 'pg-autovacuum',
      count: 1,
      priority: 'medium',
      cpu: { pattern: 'spiky', base: 0, peak: 15, every: '2m', for: '10s' },
      memory: 16,
      fds: 16,
    },
    {
      name: 'redis-server',
      count: 1,
      priority: 'critical',
      cpu: 0.8,
      memory: { pattern: 'growing', start: 32, max: 64, per_minute: 1 },
      threads: 5,
      fds: 32,
      args: ['*:6379'],
    },
    {
      name: 'gunicorn',
      count: 4,
      priority: 'high',
      cpu: { pattern: 'random', min: 0, max: 6, every: '10s' },
      memory: { pattern: 'growing', start: 48, max: 96, per_minute: 2, reset: true },
      threads: 4,
      fds: 24,
      args: ['app:wsgi', '--workers', '4'],
    },
    {
      name: 'node-api',
      count: 3,
      priority: 'high',
      cpu: { pattern: 'spiky', base: 1, peak: 10, every: '30s', for: '4s' },
      memory: 64,
      threads: 11,
      fds: 30,
      args: ['dist/server.js'],
    },
    {
      name: 'celery-worker',
      count: 2,
      priority: 'medium',
      cpu: { pattern: 'random', min: 0, max: 4, every: '20s' },
      memory: 40,
      threads: 3,
      fds: 20,
    },
    { name: 'fluent-bit', count: 1, priority: 'medium', cpu: 0.5, memory: 14, threads: 4, fds: 18 },
    {
      name: 'chrome-tab-{i}',
      count: 5,
      priority: 'low',
      cpu: { pattern: 'random', min: 0, max: 3, every: '10s' },
      memory: { pattern: 'growing', start: 40, max: 180, per_minute: 30 },
      threads: 6,
      fds: 24,
      lifetime: { min: '2m', max: '6m' },
      restart: 'always',
      restart_delay: '5s',
    },
    {
      name: 'cron-backup',
      count: 1,
      priority: 'low',
      cpu: 20,
      memory: 24,
      fds: 10,
      lifetime: { min: '20s', max: '40s' },
      restart: 'always',
      restart_delay: '1m',
    },
    {
      name: 'cron-logrotate',
      count: 1,
      priority: 'low',
      cpu: 5,
      memory: 6,
      fds: 6,
      lifetime: '5s',
      restart: 'always',
      restart_delay: '30s',
    },
  ],
};

// Idle and at the worker's memory floor on purpose: this profile is about the number of distinct
// series, and 10,000 of these must fit on one machine.
const highCardinality: ProfileInput = {
  name: 'high-cardinality',
  description: '500+ uniquely named, mostly idle processes: stresses series count, not CPU',
  templates: [
    { name: 'svc-core-{i}', count: 10, priority: 'critical', fds: 8 },
    { name: 'api-{i}', count: 140, priority: 'high', fds: 6 },
    { name: 'worker-{i}', count: 150, priority: 'medium', threads: 2, fds: 5 },
    { name: 'cache-{i}', count: 100, priority: 'medium', fds: 4 },
    { name: 'batch-{i}', count: 100, priority: 'low' },
  ],
};

const processChurn: ProfileInput = {
  name: 'process-churn',
  description:
    'Short-lived jobs created and exiting all the time (about 3 exits per second): stale-series cleanup',
  templates: [
    { name: 'scheduler', count: 1, priority: 'critical', cpu: 0.5, memory: 12, threads: 2, fds: 12 },
    { name: 'queue-broker', count: 1, priority: 'high', cpu: 1, memory: 32, threads: 4, fds: 40 },
    {
      name: 'job-a{i}-{g}',
      count: 20,
      priority: 'low',
      cpu: 1,
      memory: 4,
      lifetime: { min: '5s', max: '15s' },
    },
    {
      name: 'job-b{i}-{g}',
      count: 20,
      priority: 'medium',
      cpu: 0.5,
      memory: 6,
      lifetime: { min: '10s', max: '30s' },
    },
    {
      name: 'etl-{i}-{g}',
      count: 5,
      priority: 'medium',
      cpu: 3,
      memory: 16,
      fds: 8,
      lifetime: { min: '30s', max: '60s' },
    },
  ],
};

const chaos: ProfileInput = {
  name: 'chaos',
  description:
    'A small service mix hit by random kills, CPU spikes and memory leaks (critical processes spared)',
  templates: [
    { name: 'api-gateway', count: 1, priority: 'critical', cpu: 1, memory: 24, threads: 4, fds: 32 },
    {
      name: 'orders-svc',
      count: 3,
      priority: 'high',
      cpu: { pattern: 'random', min: 0, max: 5, every: '10s' },
      memory: 32,
      threads: 4,
      fds: 24,
    },
    { name: 'payments-svc', count: 2, priority: 'high', cpu: 1, memory: 32, threads: 4, fds: 24 },
    { name: 'email-worker', count: 4, priority: 'medium', cpu: 0.5, memory: 16, threads: 2, fds: 12 },
    {
      name: 'report-job',
      count: 4,
      priority: 'low',
      cpu: 2,
      memory: 16,
      lifetime: { min: '30s', max: '2m' },
    },
  ],
  chaos: { failures_per_minute: 4, spikes_per_minute: 3, leaks_per_minute: 1 },
};

/**
 * Processes that break observers, each held for real (see the README's "Processes that break
 * observers" for what the hostmetrics receiver does with each). Needs root: one runs as `nobody`.
 */
const edgeCases: ProfileInput = {
  name: 'edge-cases',
  description:
    'Processes that break observers: zombie, stopped, deleted executable, other user, odd names, huge command line, 1,000 threads, 10,000 fds, 50 ms lives (needs root)',
  templates: [
    { name: 'zombie-parent', count: 1, priority: 'medium', quirks: { zombie_child: true } },
    { name: 'stopped-proc', count: 1, priority: 'medium', memory: 2, quirks: { stopped: true } },
    { name: 'deleted-bin', count: 1, priority: 'medium', quirks: { deleted_executable: true } },
    { name: 'other-user', count: 1, priority: 'medium', fds: 8, quirks: { user: 'nobody' } },
    { name: 'spaced-name', count: 1, priority: 'low', quirks: { comm: 'my (odd) name' } },
    { name: 'kernel-like', count: 1, priority: 'low', quirks: { comm: 'kworker/0:1-ev' } },
    // "bad" 0xff 0xfe "name": not UTF-8
    { name: 'bytes-name', count: 1, priority: 'low', quirks: { comm_hex: '626164fffe6e616d65' } },
    { name: 'long-cmdline', count: 1, priority: 'low', quirks: { command_line_bytes: 102_400 } },
    { name: 'many-threads', count: 1, priority: 'high', threads: 1000 },
    { name: 'many-fds', count: 1, priority: 'high', fds: 10_000 },
    { name: 'blink-{i}-{g}', count: 2, priority: 'low', lifetime: '50ms', restart: 'always' },
  ],
};

/** Built-in profiles by name; `high-churn` is an alias of `process-churn`. */
export const BUILTIN_PROFILES: Readonly<Record<string, ProfileInput>> = {
  realistic,
  'high-cardinality': highCardinality,
  'process-churn': processChurn,
  chaos,
  'edge-cases': edgeCases,
};

export const PROFILE_ALIASES: Readonly<Record<string, string>> = { 'high-churn': 'process-churn' };
