/**
 * The command-line entry point: `npm start` (the `run` command, configured by the environment) and
 * `process-simulator <command> [flags]`. SIGINT/SIGTERM during a run: every child is gone and the last
 * export flushed before exit. Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration.
 */
import { parseCommandLine, UsageError } from './cli/args.ts';
import { planCommand, profilesCommand, runCommand } from './cli/commands.ts';
import { HELP } from './cli/help.ts';

async function main(argv: readonly string[]): Promise<number> {
  const io = {
    env: process.env,
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
    tty: process.stderr.isTTY === true,
  };
  try {
    const args = parseCommandLine(argv);
    switch (args.command) {
      case 'help':
        io.out(`${HELP[args.helpFor ?? 'help']}\n`);
        return 0;
      case 'profiles':
        return await profilesCommand(io, args.json);
      case 'plan':
        return await planCommand(io, args.env, args.json);
      case 'run':
        return await runCommand(io, args.env);
    }
  } catch (error) {
    const name = (error as Error).name;
    io.err(`process-simulator: ${(error as Error).message}\n`);
    if (error instanceof UsageError) io.err('Try `process-simulator --help`.\n');
    return error instanceof UsageError || name === 'ValidationError' ? 2 : 1;
  }
}

// Exit explicitly: after an orderly stop nothing is left to wait for, and a handle some library still
// holds (a gRPC channel closing) must not keep a stopped simulator alive.
process.exit(await main(process.argv.slice(2)));
