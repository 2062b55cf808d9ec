/**
 * The command dispatcher behind src/main.ts: `run` (the default, also `npm start`), `profiles`, `plan`,
 * `verify` and `help`. Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration; a command
 * other than `run` and `verify` interrupted by a signal exits with 128 + the signal's number. `verify`
 * has its own: 0 the pipeline passed, 1 it differs, 2 the verification could not run.
 */
import { parseCommandLine, UsageError } from './args.ts';
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
    if (args.command !== 'run' && args.command !== 'verify') {
      // Nothing to stop in order: a signal (now or earlier, while loading) simply ends the command.
      signals.release();
      if (signals.signal.aborted) return exitCodeOf(String(signals.signal.reason));
    }
    switch (args.command) {
      case 'help':
        io.out(`${HELP[args.helpFor ?? 'help']}\n`);
        return 0;
      case 'profiles':
        return await (await import('./commands.ts')).profilesCommand(io, args.json);
      case 'plan':
        return await (await import('./commands.ts')).planCommand(io, args.env, args.json);
      case 'run':
        return await (await import('./commands.ts')).runCommand(io, args.env, signals);
      case 'verify':
        // Loaded alone: verify talks to a simulator and needs none of the simulator's own modules
        // (telemetry, API), which take most of a start-up on a busy machine.
        return await verifyCommand(io, args.verify, signals.signal);
    }
  } catch (error) {
    const name = (error as Error).name;
    io.err(`process-simulator: ${(error as Error).message}\n`);
    if (error instanceof UsageError)
      io.err(`Try \`process-simulator ${argv[0] === 'verify' ? 'verify ' : ''}--help\`.\n`);
    return error instanceof UsageError || name === 'ValidationError' ? 2 : 1;
  }
}
