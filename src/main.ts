/**
 * The entry point: `npm start` (the `run` command, configured by the environment) and
 * `process-simulator <command> [flags]`. SIGINT and SIGTERM are caught before anything else is
 * loaded, so a signal at any moment of a run ends in a clean stop: every child gone and the last
 * export flushed before exit. Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration.
 */
import { StopSignals } from './cli/stop-signals.ts';

const signals = new StopSignals();
// A reader that stops early (`plan | head`) closes the pipe: that ends the output, not in a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const { main } = await import('./cli/main.ts');
const argv = process.argv.slice(2);
const code = await main(argv, signals);
process.exitCode = code;
// The process ends once its output is written. After a run's orderly stop nothing is left to wait for;
// should a library still hold a handle (a gRPC channel closing), a stopped simulator must not hang.
if (signals.signal.aborted || !['profiles', 'plan', 'help'].includes(argv[0] ?? 'run')) {
  setTimeout(() => process.exit(code), 5000).unref();
}
