/**
 * A real Kubernetes API server for the chart's tests: etcd and kube-apiserver (built from their Go
 * modules by scripts/k8s-tools-build.sh) on loopback ports, with a self-signed certificate, a static
 * token with cluster-admin rights and RBAC. No scheduler, controller or kubelet runs, so no pod ever
 * starts: it validates and admits objects, and answers server-side dry runs, as envtest does.
 *
 * Everything lives in one private temporary directory, removed by stop(); both servers are stopped
 * by their process groups.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, type TestChild } from './children.ts';
import { k8sTool } from './helm.ts';
import { freePorts } from './ports.ts';
import { waitFor } from './wait.ts';

export interface KubeApiServer {
  /** path of a kubeconfig that reaches it as cluster-admin */
  kubeconfig: string;
  /** runs kubectl against it; the result is data, never thrown */
  kubectl(args: string[], input?: string): { status: number | null; stdout: string; stderr: string };
  /** both servers' output so far, for failure messages */
  logs(): string;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** Starts etcd, then kube-apiserver, and resolves once /readyz answers. */
export async function startKubeApiServer(): Promise<KubeApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-apiserver-'));
  const children: TestChild[] = [];
  const stop = async () => {
    // The API server first: it would otherwise retry etcd while stopping.
    for (const child of children.reverse()) await child.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A serving certificate for 127.0.0.1, which kubectl trusts as its own CA, and the
    // service-account signing key the API server requires (ECDSA: quick to make).
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'server.key',
        '-out',
        'server.crt',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      dir,
    );
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
    openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},test-admin,test-admin,"system:masters"\n`, {
      mode: 0o600,
    });

    const [client, peer, secure] = (await freePorts(3)) as [number, number, number];
    const etcd = spawnChild(k8sTool('etcd'), [
      '--name=test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=test=http://127.0.0.1:${peer}`,
      '--log-level=warn',
    ]);
    children.push(etcd);
    await waitFor('etcd to be healthy', { timeoutMs: 30_000, everyMs: 200, lastSeen: etcd.log }, async () => {
      if (etcd.exited()) throw new Error(`etcd exited: ${etcd.log()}`);
      try {
        const response = await fetch(`http://127.0.0.1:${client}/health`);
        return response.ok && ((await response.json()) as { health?: string }).health === 'true';
      } catch {
        return false;
      }
    });

    const apiserver = spawnChild(k8sTool('kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${client}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${secure}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--tls-cert-file=${join(dir, 'server.crt')}`,
      `--tls-private-key-file=${join(dir, 'server.key')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--anonymous-auth=false',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      // Without it the API server refuses 127.0.0.1 as the address it would publish for itself.
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
    ]);
    children.push(apiserver);

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'test',
            cluster: {
              server: `https://127.0.0.1:${secure}`,
              'certificate-authority': join(dir, 'server.crt'),
            },
          },
        ],
        users: [{ name: 'test-admin', user: { token } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'test-admin' } }],
        'current-context': 'test',
      }),
      { mode: 0o600 },
    );
    const kubectl = (args: string[], input?: string) => {
      const result = spawnSync(k8sTool('kubectl'), ['--kubeconfig', kubeconfig, ...args], {
        input,
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 64 * 2 ** 20,
        env: { PATH: process.env.PATH, HOME: dir },
      });
      return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
    };
    const logs = () => `--- etcd\n${etcd.log()}\n--- kube-apiserver\n${apiserver.log().slice(-20_000)}`;
    await waitFor('kube-apiserver to be ready', { timeoutMs: 120_000, everyMs: 500, lastSeen: logs }, () => {
      if (apiserver.exited()) throw new Error(`kube-apiserver exited: ${logs()}`);
      return kubectl(['get', '--raw', '/readyz']).status === 0;
    });
    return { kubeconfig, kubectl, logs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
