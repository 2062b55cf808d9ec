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

export interface AppContext {
  engine: Engine;
  /** the latest /proc reading of every live process (the sampler's store) */
  snapshots: { latest(): Snapshot };
  /** true once the exporters are set up, false again while shutting down */
  ready: () => boolean;
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
  /** API_TOKEN: required as a bearer token on mutating requests when set */
  apiToken?: string | undefined;
  /** pipeline verification; without it the routes answer 503 */
  verification?: VerificationContext | undefined;
  log?: Logger;
}
