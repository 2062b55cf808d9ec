/**
 * What the API needs from the rest of the simulator: the engine's public surface and read-only status.
 */
import type { Engine } from '../engine/engine.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../sampler/snapshot.ts';
import type { ExportStatus } from '../telemetry/telemetry.ts';

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
  log?: Logger;
}
