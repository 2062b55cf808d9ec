/**
 * The CLI commands. `run` is also what a bare `npm start` does (configured by the environment only).
 */
import { type Config, loadConfig } from '../config/config.ts';
import { createLogger, type Logger } from '../log.ts';
import { PROFILE_ALIASES } from '../profiles/builtin.ts';
import { builtinProfile, builtinProfileNames } from '../profiles/load.ts';
import { planProcesses } from '../profiles/plan.ts';
import type { Pattern } from '../profiles/schema.ts';
import { formatDuration } from '../profiles/units.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import { profileFromConfig, StartAborted, startSimulator } from '../simulator.ts';
import { FLAG_ENV } from './args.ts';
import { describeSource } from './source-text.ts';
import { startStatusReporter, summary } from './status.ts';
import type { StopSignals } from './stop-signals.ts';

export interface Io {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  tty: boolean;
}

/** The config from the environment and the flags; errors name the flag when a flag set the value. */
function configFrom(io: Io, overrides: Record<string, string>): Config {
  try {
    return loadConfig({ ...io.env, ...overrides });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const flagOf = Object.fromEntries(Object.entries(FLAG_ENV).map(([flag, variable]) => [variable, flag]));
    throw new ValidationError(
      'command line or environment',
      error.issues.map((issue) =>
        issue.path in overrides && flagOf[issue.path] ? { ...issue, path: `--${flagOf[issue.path]}` } : issue,
      ),
    );
  }
}

/** Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration (thrown as errors to main). */
export async function profilesCommand(io: Io, json: boolean): Promise<number> {
  const rows = builtinProfileNames()
    .filter((name) => !(name in PROFILE_ALIASES))
    .map((name) => {
      const profile = builtinProfile(name);
      const aliases = Object.entries(PROFILE_ALIASES)
        .filter(([, target]) => target === name)
        .map(([alias]) => alias);
      return {
        name,
        aliases,
        processes: profile.templates.reduce((sum, t) => sum + t.count, 0),
        description: profile.description,
      };
    });
  if (json) io.out(`${JSON.stringify(rows, null, 2)}\n`);
  else
    for (const row of rows)
      io.out(
        `${`${row.name}${row.aliases.length ? ` (${row.aliases.join(', ')})` : ''}`.padEnd(34)} ${String(row.processes).padStart(4)}  ${row.description}\n`,
      );
  return 0;
}

function describePattern(pattern: Pattern, unit: string): string {
  switch (pattern.pattern) {
    case 'steady':
      return `${pattern.value}${unit}`;
    case 'spiky':
      return `spiky ${pattern.base}->${pattern.peak}${unit} ${formatDuration(pattern.for)}/${formatDuration(pattern.every)}`;
    case 'growing':
      return `growing ${pattern.start}->${pattern.max}${unit} +${pattern.per_minute}/min${pattern.reset ? ' reset' : ''}`;
    case 'random':
      return `random ${pattern.min}-${pattern.max}${unit} /${formatDuration(pattern.every)}`;
    case 'replay':
      return `replay ${pattern.values.length} x ${formatDuration(pattern.every)}${pattern.repeat ? ' repeat' : ''}`;
  }
}

export async function planCommand(io: Io, overrides: Record<string, string>, json: boolean): Promise<number> {
  const config = configFrom(io, overrides);
  const profile = profileFromConfig(config);
  const planned = planProcesses(profile);
  if (json) {
    io.out(
      `${JSON.stringify(
        planned.map((p) => ({
          name: p.name,
          priority: p.priority,
          cpu: p.template.cpu,
          memory_mib: p.template.memory,
          threads: p.template.threads,
          fds: p.template.fds,
          lifetime_ms: p.template.lifetime ?? null,
          args: p.template.args,
        })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  io.out(
    `profile ${profile.name}: ${planned.length} processes${config.seed !== undefined ? `, seed ${config.seed}` : ''}\n`,
  );
  if (profile.source) io.out(describeSource(profile.source));
  io.out(
    `${'NAME'.padEnd(16)}${'PRIORITY'.padEnd(10)}${'CPU %'.padEnd(30)}${'MEMORY MiB'.padEnd(32)}${'THR'.padStart(4)}${'FDS'.padStart(6)}  LIFETIME\n`,
  );
  for (const p of planned) {
    const t = p.template;
    const lifetime = t.lifetime
      ? t.lifetime.min === t.lifetime.max
        ? formatDuration(t.lifetime.min)
        : `${formatDuration(t.lifetime.min)}-${formatDuration(t.lifetime.max)}`
      : '-';
    io.out(
      `${p.name.padEnd(16)}${p.priority.padEnd(10)}${describePattern(t.cpu, '').padEnd(30)}${describePattern(t.memory, '').padEnd(32)}${String(t.threads).padStart(4)}${String(t.fds).padStart(6)}  ${lifetime}\n`,
    );
  }
  return 0;
}

/** The name the engine shows in `ps` (comm keeps its first 15 bytes: `process-simulat`). */
export const ENGINE_TITLE = 'process-simulator';

/**
 * Runs the simulator until its simulation ends or a signal arrives. `signals` were caught before the
 * program loaded, so a signal during start-up (a ramp of 10,000 processes takes seconds; a pod deleted
 * while starting) ends in the same clean stop as one later: the ramp stops, every child is reaped, the
 * last export flushed. A second signal while stopping exits at once (exit code 130); the workers then
 * die with the engine (parent-death signal).
 */
export async function runCommand(
  io: Io,
  overrides: Record<string, string>,
  signals: StopSignals,
): Promise<number> {
  const config = configFrom(io, overrides);
  process.title = ENGINE_TITLE;
  // On a terminal, log lines first clear the status line, which is redrawn at the next tick.
  const log = createLogger(config.logLevel, (line) => io.err(io.tty ? `\r\x1b[2K${line}` : line));
  signals.onRepeat((name) => {
    log.warn(`${name} again while stopping: exiting now`);
    process.exit(130);
  });
  if (signals.signal.aborted) {
    log.info('stopped before start-up', { reason: String(signals.signal.reason) });
    return 0;
  }
  return await run(config, log, io, signals.signal);
}

async function run(config: Config, log: Logger, io: Io, stop: AbortSignal): Promise<number> {
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator(config, log, { signal: stop });
  } catch (error) {
    if (error instanceof StartAborted) {
      log.info('stopped during start-up', { reason: String(stop.reason) });
      return 0;
    }
    log.error((error as Error).message);
    return (error as Error).name === 'ValidationError' ? 2 : 1;
  }
  const reporter = simulator.simulation
    ? startStatusReporter(
        {
          simulation: simulator.simulation,
          exportStatus: simulator.telemetry.exportStatus,
          endpoints: { metrics: simulator.telemetry.prometheusUrl, api: simulator.api.url },
        },
        { tty: io.tty, write: io.err, log, logEveryMs: Math.max(5000, config.exportIntervalMs) },
      )
    : undefined;
  const stopped = new Promise<string>((resolve) => {
    if (stop.aborted) resolve(String(stop.reason));
    else stop.addEventListener('abort', () => resolve(String(stop.reason)), { once: true });
  });
  let outcome = await Promise.race([
    stopped,
    simulator.finished.then((s) => (s ? `simulation ${s.state}` : 'finished')),
  ]);
  reporter?.stop();
  if (!stop.aborted && config.lingerMs > 0) {
    // The run is over; its results stay readable (a fleet verdict collects them from every shard).
    log.info('simulation ended; serving its results until LINGER ends or a signal', {
      state: simulator.simulation?.state,
      linger_ms: config.lingerMs,
    });
    const lingered = new Promise<string>((resolve) =>
      setTimeout(resolve, config.lingerMs, 'LINGER ended').unref(),
    );
    const keepAlive = setInterval(() => {}, 60_000);
    outcome = `${outcome}, then ${await Promise.race([stopped, lingered])}`;
    clearInterval(keepAlive);
  }
  log.info('shutting down', { reason: outcome });
  try {
    await simulator.stop();
  } catch (error) {
    log.error('shutting down failed', { error: (error as Error)?.stack ?? String(error) });
    return 1;
  }
  const simulation = simulator.simulation;
  if (!simulation) return 0;
  log.info('summary', summary(simulation, simulator.telemetry.exportStatus, config.metricSelection));
  return simulation.state === 'failed' ? 1 : 0;
}
