/**
 * `npm start`: runs the simulation the environment describes until it completes (DURATION) or the
 * process is asked to stop. SIGINT/SIGTERM: every child is gone and the last export flushed before exit.
 * Exit codes: 0 done, 1 runtime failure, 2 bad configuration.
 */
import { loadConfig } from './config/config.ts';
import { createLogger } from './log.ts';
import { ValidationError } from './profiles/validation-error.ts';
import { startSimulator } from './simulator.ts';

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`process-simulator: ${(error as Error).message}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel);
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator(config, log);
  } catch (error) {
    log.error((error as Error).message);
    return error instanceof ValidationError ? 2 : 1;
  }
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const outcome = await Promise.race([stopSignal, simulator.finished.then(() => 'finished')]);
  log.info('shutting down', { reason: outcome });
  await simulator.stop();
  const simulation = simulator.simulation;
  if (simulation) {
    const started = Object.values(simulation.starts).reduce((a, b) => a + b, 0);
    log.info('summary', {
      state: simulation.state,
      started,
      exits: simulation.exits,
      peak: simulation.peakLive,
      exportsOk: simulator.telemetry.exportStatus.ok,
      exportsFailed: simulator.telemetry.exportStatus.failed,
    });
    if (simulation.state === 'failed') return 1;
  }
  return 0;
}

process.exitCode = await main();
