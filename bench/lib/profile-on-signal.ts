/**
 * Loaded into the benchmark's engine with `--import`: a CPU profile of the main thread between two
 * SIGUSR2, written to `$BENCH_PROFILE_DIR/engine.cpuprofile` at the second.
 *
 * Why not `node --cpu-prof`: that profiles the whole run, and the profiler costs the profiled thread
 * too (a signal and a stack walk on it at every sample: at 10,000 processes and the default 1 ms
 * interval, the main thread took 20-25 % more CPU with it than without). The benchmark profiles one
 * window for the breakdown per part, then measures the engine's CPU in a window with no profiler.
 * The session is in-process (`node:inspector` Session): no debugger port is opened. Two signals sent
 * together may arrive as one (a pending signal is not queued twice): send the second only once
 * `$BENCH_PROFILE_DIR/started` exists, as the benchmark does.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir === undefined || dir === '') throw new Error('BENCH_PROFILE_DIR is not set');

/** the sampling interval of `--cpu-prof` (µs) */
const INTERVAL_US = 1000;
let session: Session | undefined;
let done = false;

const post = <T>(method: string, params?: object) =>
  new Promise<T>((resolve, reject) => {
    (session as Session).post(method, params ?? {}, (error, result) =>
      error ? reject(error) : resolve(result as T),
    );
  });

/** The first signal starts the profile, the second writes it; later ones do nothing. */
async function toggle(): Promise<void> {
  if (done) return;
  if (session === undefined) {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: INTERVAL_US });
    await post('Profiler.start');
    writeFileSync(join(dir as string, 'started'), '');
    return;
  }
  done = true;
  const { profile } = await post<{ profile: unknown }>('Profiler.stop');
  session.disconnect();
  // Written whole, then renamed: the benchmark reads the file once it appears.
  const partial = join(dir as string, 'engine.cpuprofile.partial');
  writeFileSync(partial, JSON.stringify(profile));
  renameSync(partial, join(dir as string, 'engine.cpuprofile'));
}

let busy = Promise.resolve();
process.on('SIGUSR2', () => {
  busy = busy.then(toggle).catch((error: Error) => {
    process.emitWarning(`benchmark profile: ${error.message}`);
  });
});
