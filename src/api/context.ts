/**
 * What the API needs from the rest of the simulator: the engine's public surface and read-only status.
 */
import type { Engine } from '../engine/engine.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../sampler/snapshot.ts';
import type { ExportStatus } from '../telemetry/telemetry.ts';
import type { HostView } from '../verify/host.ts';
import type { ReportStore } from '../verify/report-store.ts';
import type { TruthRequest } from '../verify/run.ts';
import type { SinkStore } from '../verify/sources/sink-store.ts';
import type { GroundTruth } from '../verify/truth.ts';

/** What the pipeline verification routes need. */
export interface VerificationContext {
  /** the ground truth of a simulation, built now */
  truth(simulationId: string, request: TruthRequest): Promise<GroundTruth>;
  /** the OTLP sink, when the simulator runs one */
  sink: { store: SinkStore; location: string } | undefined;
  /** the last report of each simulation */
  reports: ReportStore;
  /** this process's /proc, to map PIDs a collector in another PID namespace reports */
  host: HostView;
}

/** Where the simulator is in its life, as /health reports it: only `ok` answers 200. */
export type ApiState = 'starting' | 'ok' | 'stopping';

export interface AppContext {
  engine: Engine;
  /** the latest /proc reading of every live process (the sampler's store) */
  snapshots: { latest(): Snapshot };
  /**
   * The simulator's state for /health: `starting` until the exporters are set up, `ok`, then
   * `stopping` from the moment shutdown begins (503, so a load balancer stops sending work).
   * The simulator wires it as `state: () => (stopping ? 'stopping' : 'ok')`.
   */
  state?: () => ApiState;
  /**
   * Older form of {@link state}, used only when `state` is absent: true = `ok`, false = `stopping`
   * (the API is served only once the exporters are set up, so before that it is not asked).
   */
  ready?: () => boolean;
  exportStatus: ExportStatus;
  endpoints: { metrics: string | undefined; otlp: string | undefined };
  /** series each exported metric has per process, e.g. `process.cpu.time` -> 3 */
  seriesPerProcess: Readonly<Record<string, number>>;
  limits: {
    /** MAX_DURATION, ms */
    maxDurationMs: number;
    /** API_BODY_LIMIT, bytes */
    bodyLimitBytes: number;
  };
  /** API_TOKEN: required as a bearer token on changing requests when set */
  apiToken?: string | undefined;
  /** pipeline verification; without it the routes answer 503 */
  verification?: VerificationContext | undefined;
  /**
   * Host names the API answers for beyond loopback and the address a request came in on:
   * ALLOWED_HOSTS and CONTROL_HOST. Wired as
   * `access: { allowedHosts: config.allowedHosts, controlHost: config.controlHost }`; without it only
   * loopback names and addresses, and the address a request came in on, are answered.
   */
  access?: { allowedHosts: readonly string[]; controlHost: string };
  log?: Logger;
}

/** The state to report: `state()` when wired, else derived from the older `ready()`. */
export function apiState(context: Pick<AppContext, 'state' | 'ready'>): ApiState {
  if (context.state) return context.state();
  if (context.ready) return context.ready() ? 'ok' : 'stopping';
  return 'ok';
}
