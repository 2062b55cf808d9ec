/**
 * The chart's job-mode pods, run here as the kubelet would run them: the rendered container command
 * and environment (downward API, the token Secret, the Indexed Job's JOB_COMPLETION_INDEX, the inline
 * profile from its ConfigMap), as the chart's non-root uid with no capability and no_new_privs. Only
 * what a test must change is changed: listeners on loopback and kernel-chosen ports, and a private
 * directory as the pod's /tmp. The shards start at the rendered START_AT, hold the whole run between
 * them, guard their API with the token and answer only for the names the chart gives them, serve their
 * results while they linger (the rendered verdict, run as it would run, passes them, and fails a run
 * with a shard missing), and exit 0.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadProfileFile } from '../../src/profiles/load.ts';
import { planProcesses } from '../../src/profiles/plan.ts';
import { type Container, podTemplateOf, resolveEnv, workloadOf } from '../chart/pods.ts';
import { spawnChild, type TestChild } from '../helpers/children.ts';
import { objectOf, REPO_ROOT, renderChart } from '../helpers/helm.ts';
import { requireRoot, requireTools } from '../helpers/require.ts';
import { waitFor } from '../helpers/wait.ts';

const scratch = mkdtempSync(join(tmpdir(), 'chart-pods-'));
// The shards' user must reach the profile file (the ConfigMap volume) and its own /tmp inside.
chmodSync(scratch, 0o711);
const children: TestChild[] = [];
after(async () => {
  await Promise.all(children.map((child) => child.stop(10_000)));
  rmSync(scratch, { recursive: true, force: true });
});

const PROFILE = {
  name: 'pods',
  templates: [
    { name: 'web-{i}', count: 5, priority: 'high', cpu: 0.5, memory: 2, threads: 2, fds: 6 },
    { name: 'cron-{i}-{g}', count: 2, priority: 'low', memory: 1, lifetime: '2s', restart_delay: '1s' },
  ],
};

interface StatusLines {
  Uid: string;
  CapEff: string;
  CapBnd: string;
  NoNewPrivs: string;
}

function status(pid: number): StatusLines {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return {
    Uid: field('Uid'),
    CapEff: field('CapEff'),
    CapBnd: field('CapBnd'),
    NoNewPrivs: field('NoNewPrivs'),
  };
}

/** GET /health with a Host header of our choosing (fetch may not set Host). */
function healthWithHost(port: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: Number(port), path: '/health', headers: { host } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.once('error', reject);
    request.end();
  });
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

test('two shards of a rendered Indexed Job run unprivileged, start together, and exit 0', async () => {
  requireRoot('run the shards as the chart’s uid');
  requireTools('setpriv');
  const startAt = new Date(Date.now() + 8000).toISOString();
  const rendered = renderChart({
    mode: 'job',
    shards: 2,
    inlineProfile: PROFILE,
    seed: 5,
    duration: '5s',
    linger: '15s',
    startAt,
  });
  assert.equal(rendered.status, 0, rendered.stderr);
  const template = podTemplateOf(workloadOf(rendered.objects, 'job'));
  const container = template.spec.containers[0] as (typeof template.spec.containers)[number] & {
    command: string[];
  };
  const uid = template.spec.securityContext.runAsUser as number;
  const gid = template.spec.securityContext.runAsGroup as number;
  assert.ok(uid > 0);
  const configMap = objectOf(rendered.objects, 'ConfigMap') as unknown as { data: Record<string, string> };
  const profileFile = join(scratch, 'profile.yaml');
  writeFileSync(profileFile, configMap.data['profile.yaml'] as string, { mode: 0o644 });
  const [command, ...args] = container.command;
  assert.equal(command, 'node');

  const shards = [0, 1].map((index) => {
    const env = resolveEnv(container.env, rendered.objects, { jobIndex: index, profileFile });
    // The pod's /tmp (an emptyDir the pod's user can write).
    const podTmp = mkdtempSync(join(scratch, `tmp-${index}-`));
    chownSync(podTmp, uid, gid);
    const child = spawnChild(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--no-new-privs',
        '--',
        process.execPath,
        // Relative to the image's working directory /app: here, the clone.
        ...args.map((arg) => (arg.endsWith('.ts') ? join(REPO_ROOT, arg) : arg)),
      ],
      {
        PATH: process.env.PATH,
        ...env,
        TMPDIR: podTmp,
        CONTROL_HOST: '127.0.0.1',
        CONTROL_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
      },
    );
    children.push(child);
    return { index, child, token: env.API_TOKEN as string };
  });
  assert.ok(args.includes('src/main.ts'));

  const apis = await Promise.all(
    shards.map(async ({ child }) => {
      const ready = await waitFor(
        'a shard up',
        { timeoutMs: 30_000, everyMs: 50, lastSeen: () => child.log() },
        () => {
          if (child.exited()) throw new Error(`shard exited:\n${child.log()}`);
          return /process-simulator ready metrics=\S+ api=(\S+)/.exec(child.log());
        },
      );
      return ready[1] as string;
    }),
  );

  for (const [i, { child, token }] of shards.entries()) {
    const api = apis[i] as string;
    // As the chart's uid, without any capability, and unable to gain one.
    const engine = status(child.pid);
    assert.match(engine.Uid, new RegExp(`^${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`));
    assert.match(engine.CapEff, /^0+$/);
    assert.match(engine.CapBnd, /^0+$/);
    assert.equal(engine.NoNewPrivs, '1');
    assert.equal((await fetch(`${api}/health`)).status, 200, 'the probes’ /health');
    // The token from the Secret guards what changes the simulator.
    const body = JSON.stringify({});
    const headers = { 'content-type': 'application/json' };
    const anonymous = await fetch(`${api}/api/v1/simulations`, { method: 'POST', headers, body });
    assert.equal(anonymous.status, 401);
    const signed = await fetch(`${api}/api/v1/simulations`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${token}` },
      body,
    });
    assert.notEqual(signed.status, 401, 'the rendered token is the one the shard expects');
  }

  // Started together at START_AT, each its slice: together exactly the whole run. The shards run
  // side by side, so they are followed side by side.
  const profile = loadProfileFile(profileFile);
  const names: string[] = [];
  await Promise.all(
    shards.map(async ({ index, child }, i) => {
      const api = apis[i] as string;
      const { body } = await json<{ simulations: Array<{ id: string; shard: unknown; start_at: string }> }>(
        `${api}/api/v1/simulations`,
      );
      const simulation = body.simulations[0] as { id: string; shard: unknown; start_at: string };
      assert.deepEqual(simulation.shard, { index, count: 2 });
      assert.equal(Date.parse(simulation.start_at), Date.parse(startAt));
      const results = await waitFor(
        'the shard running',
        { timeoutMs: 30_000, lastSeen: () => child.log() },
        async () => {
          const r = await json<{ state: string; started_at: string }>(
            `${api}/api/v1/simulations/${simulation.id}/results`,
          );
          return r.body.state === 'running' && r.body;
        },
      );
      assert.ok(Date.parse(results.started_at) >= Date.parse(startAt), 'not before START_AT');
      const { body: list } = await json<{ processes: Array<{ name: string; pid: number }> }>(
        `${api}/api/v1/simulations/${simulation.id}/processes`,
      );
      for (const process of list.processes) {
        try {
          assert.match(status(process.pid).Uid, new RegExp(`^${uid}\\s`), `${process.name} runs as ${uid}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // a churned one exited
        }
      }
      names.push(...planProcesses(profile, { index, count: 2 }).map((p) => p.name));
      // Results stay readable once the run is over (LINGER), for the verdict.
      await waitFor('the run to end and linger', { timeoutMs: 30_000, lastSeen: () => child.log() }, () =>
        child.log().includes('serving its results'),
      );
      const ended = await json<{ state: string }>(`${api}/api/v1/simulations/${simulation.id}/results`);
      assert.equal(ended.body.state, 'completed');
    }),
  );
  assert.deepEqual(
    names.sort(),
    planProcesses(profile)
      .map((p) => p.name)
      .sort(),
  );

  // The API answers for the names the chart gave it (the Service's, each pod's own), not others.
  const service = objectOf(rendered.objects, 'Service').metadata.name;
  const job = workloadOf(rendered.objects, 'job').metadata.name;
  for (const [index, api] of apis.entries()) {
    const port = new URL(api).port;
    assert.equal(await healthWithHost(port, `${service}.sims.svc:${port}`), 200);
    assert.equal(
      await healthWithHost(port, `${job}-${index}.${service}.sims.svc.cluster.local:${port}`),
      200,
    );
    assert.equal(await healthWithHost(port, `${job}-${1 - index}.${service}.sims.svc:${port}`), 403);
    assert.equal(await healthWithHost(port, `rebinding.example:${port}`), 403);
  }

  // The verdict Job's container, run as rendered; only where the shards are (no cluster DNS here) and
  // where the termination message goes are changed.
  const verdictJob = objectOf(rendered.objects, 'Job', `${job}-verdict`);
  const verdictContainer = (
    verdictJob.spec as { template: { spec: { containers: Array<Record<string, any>> } } }
  ).template.spec.containers[0] as { command: string[]; args: string[]; env: Container['env'] };
  const verdictDir = mkdtempSync(join(scratch, 'verdict-'));
  chownSync(verdictDir, uid, gid);
  const runVerdict = async (urls: string[], extra: string[] = []) => {
    const log = join(verdictDir, `termination-${urls.length}`);
    const verdictArgs = verdictContainer.args.map((arg) =>
      arg.startsWith('--shards=')
        ? `--shards=${urls.join(',')}`
        : arg.startsWith('--termination-log=')
          ? `--termination-log=${log}`
          : arg,
    );
    const [, ...launch] = verdictContainer.command;
    const child = spawnChild(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--no-new-privs',
        '--',
        process.execPath,
        ...launch.map((arg) => (arg.endsWith('.ts') ? join(REPO_ROOT, arg) : arg)),
        ...verdictArgs,
        ...extra,
      ],
      { PATH: process.env.PATH, ...resolveEnv(verdictContainer.env, rendered.objects, {}) },
    );
    children.push(child);
    const exit = await waitFor('the verdict', { timeoutMs: 60_000, lastSeen: () => child.log() }, () =>
      child.exited() ? { code: child.process.exitCode } : false,
    );
    return { code: exit.code, output: child.log(), message: readFileSync(log, 'utf8') };
  };
  assert.ok(verdictContainer.args.includes('--expect-state=ended'));
  const passed = await runVerdict(apis);
  assert.equal(passed.code, 0, passed.output);
  assert.match(passed.message, /PASS .*2 of 2 shards/);
  assert.ok(passed.message.length <= 4096, 'a termination message Kubernetes keeps whole');
  // One shard missing: the run failed, and the message names it. No waiting: the rendered wait is
  // minutes, for shards still running.
  const failed = await runVerdict([apis[0] as string], ['--wait=0s']);
  assert.equal(failed.code, 1, failed.output);
  assert.match(failed.message, /FAIL .*1 of 2 shards[\s\S]*FAIL shard 1 of 2/);

  // After LINGER each shard exits 0: the Job's index succeeds.
  for (const { child } of shards) {
    const code = await waitFor('the shard to exit', { timeoutMs: 30_000, lastSeen: () => child.log() }, () =>
      child.exited() ? { code: child.process.exitCode } : false,
    );
    assert.equal(code.code, 0, child.log());
  }
});
