/**
 * The command dispatcher behind src/main.ts: `run` (the default, also `npm start`), `profiles`, `plan`,
 * `capture`, `fleet` and `help`. Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration; a
 * command other than `run` and `capture` interrupted by a signal exits with 128 + the signal's number.
 */
import { parseCommandLine, UsageError } from './args.ts';
import { captureCommand } from './capture.ts';
import { planCommand, profilesCommand, runCommand } from './commands.ts';
import { fleetCommand } from './fleet-command.ts';
import { HELP } from './help.ts';
import { exitCodeOf, type StopSignals } from './stop-signals.ts';

export async function main(argv: readonly string[], signals: StopSignals): Promise<number> {
  const io = {
    env: process.env,
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
    tty: process.stderr.isTTY === true,
  };
  try {
    const args = parseCommandLine(argv);
    // run and capture keep the signals: a signal stops a run in order and ends a recording early.
    if (args.command !== 'run' && args.command !== 'capture') {
      // Nothing to stop in order: a signal (now or earlier, while loading) simply ends the command.
      signals.release();
      if (signals.signal.aborted) return exitCodeOf(String(signals.signal.reason));
    }
    switch (args.command) {
      case 'help':
        io.out(`${HELP[args.helpFor ?? 'help']}\n`);
        return 0;
      case 'profiles':
        return await profilesCommand(io, args.json);
      case 'plan':
        return await planCommand(io, args.env, args.json);
      case 'run':
        return await runCommand(io, args.env, signals);
      case 'fleet':
        return await fleetCommand(io, args.argv);
      case 'capture':
        // `-p x capture`: the flags before it are run's, not capture's.
        if (argv[0] !== 'capture') {
          throw new UsageError('capture takes its own flags after it: process-simulator capture [flags]');
        }
        return await captureCommand(io, args.argv, signals);
    }
  } catch (error) {
    const name = (error as Error).name;
    io.err(`process-simulator: ${(error as Error).message}\n`);
    const usage = error instanceof UsageError || name === 'UsageError';
    if (usage) io.err('Try `process-simulator --help`.\n');
    return usage || name === 'ValidationError' ? 2 : 1;
  }
}
