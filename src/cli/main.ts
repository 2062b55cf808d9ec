/**
 * The command dispatcher behind src/main.ts: `run` (the default, also `npm start`), `profiles`, `plan`,
 * `capture`, `fleet`, `verify` and `help`. Exit codes: 0 done, 1 runtime failure, 2 bad usage or
 * configuration; a command other than `run`, `capture` and `verify` interrupted by a signal exits with
 * 128 + the signal's number. `verify` has its own: 0 the pipeline passed, 1 it differs, 2 the
 * verification could not run.
 */
import { parseCommandLine, UsageError } from './args.ts';
import { captureCommand } from './capture.ts';
import { fleetCommand } from './fleet-command.ts';
import { HELP } from './help.ts';
import { exitCodeOf, type StopSignals } from './stop-signals.ts';
import { verifyCommand } from './verify.ts';

export async function main(argv: readonly string[], signals: StopSignals): Promise<number> {
  const io = {
    env: process.env,
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
    tty: process.stderr.isTTY === true,
  };
  try {
    const args = parseCommandLine(argv);
    // run, capture and verify keep the signals: a signal stops a run in order, ends a recording early,
    // ends a verification's wait.
    if (args.command !== 'run' && args.command !== 'capture' && args.command !== 'verify') {
      // Nothing to stop in order: a signal (now or earlier, while loading) simply ends the command.
      signals.release();
      if (signals.signal.aborted) return exitCodeOf(String(signals.signal.reason));
    }
    switch (args.command) {
      case 'help':
        io.out(`${HELP[args.helpFor ?? 'help']}\n`);
        return 0;
      // Loaded on demand: they bring in the whole simulator (telemetry, API), which takes most of a
      // start-up on a busy machine, and verify, which talks to a simulator, needs none of it.
      case 'profiles':
        return await (await import('./commands.ts')).profilesCommand(io, args.json);
      case 'plan':
        return await (await import('./commands.ts')).planCommand(io, args.env, args.json);
      case 'run':
        return await (await import('./commands.ts')).runCommand(io, args.env, signals);
      case 'fleet':
        return await fleetCommand(io, args.argv);
      case 'capture':
        // `-p x capture`: the flags before it are run's, not capture's.
        if (argv[0] !== 'capture') {
          throw new UsageError('capture takes its own flags after it: process-simulator capture [flags]');
        }
        return await captureCommand(io, args.argv, signals);
      case 'verify':
        return await verifyCommand(io, args.argv, signals.signal);
    }
  } catch (error) {
    const name = (error as Error).name;
    io.err(`process-simulator: ${(error as Error).message}\n`);
    const usage = error instanceof UsageError || name === 'UsageError';
    if (usage) io.err('Try `process-simulator --help`.\n');
    return usage || name === 'ValidationError' ? 2 : 1;
  }
}
