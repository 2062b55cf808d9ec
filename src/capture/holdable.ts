/**
 * What a simulated process can hold, checked per recorded process before anything is fitted. A process
 * outside these bounds is left out of the profile and reported with the reason; nothing is bent to fit.
 */
import { hasControlCharacter, MAX_COMM_BYTES, NAME_CHARS } from '../profiles/schema.ts';
import { MAX_RSS_KIB } from '../workload/control-table.ts';

/** Most threads and fds a template may ask for (the profile schema's bounds). */
export const MAX_THREADS = 4096;
export const MAX_FDS = 65_536;
/** A worker always holds stdin, stdout and stderr. */
export const MIN_FDS = 3;
/** Largest resident set a worker can be told to hold, MiB. */
export const MAX_MEMORY_MIB = MAX_RSS_KIB / 1024;

/** Why `name` cannot be a template name as it is, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (Buffer.byteLength(name) > MAX_COMM_BYTES) {
    return `the name is ${Buffer.byteLength(name)} bytes; a process name holds ${MAX_COMM_BYTES}`;
  }
  if (/[{}]/.test(name)) return 'the name holds { or }, which a profile reads as a placeholder';
  if (!NAME_CHARS.test(name)) {
    return 'the name holds characters a profile refuses (only letters, digits and . _ : + @ -, starting with a letter or digit); --anonymise or --name-map renames it';
  }
  return undefined;
}

/** Why a process holding these counts cannot be simulated, or undefined when it can. */
export function countsProblem(threads: number, fds: number): string | undefined {
  if (threads > MAX_THREADS) return `${threads} threads; a simulated process holds at most ${MAX_THREADS}`;
  if (fds > MAX_FDS) return `${fds} open fds; a simulated process holds at most ${MAX_FDS}`;
  if (fds < MIN_FDS)
    return `${fds} open fds; a simulated process holds at least ${MIN_FDS} (stdin, stdout, stderr)`;
  return undefined;
}

/**
 * Why a process with this CPU (percent of one core) cannot be simulated. A worker burns at most one
 * core, so a process that used more than one core on average is left out: holding it at one core would
 * halve the load it puts on the host. One whose peaks alone pass 100 % is kept with its peaks cut to
 * 100 %, and the estimate says so.
 */
export function cpuProblem(meanPercent: number): string | undefined {
  if (meanPercent > 100) {
    return `${meanPercent.toFixed(1)} % CPU on average, more than one core; a simulated process uses at most one`;
  }
  return undefined;
}

export function memoryProblem(peakMiB: number): string | undefined {
  if (peakMiB > MAX_MEMORY_MIB)
    return `${peakMiB.toFixed(0)} MiB resident; a worker holds at most ${MAX_MEMORY_MIB} MiB`;
  return undefined;
}

/** Why a command line cannot be shown as the template's args, or undefined when it can. */
export function argsProblem(args: readonly string[]): string | undefined {
  if (args.length > 32) return `${args.length} arguments; a template shows at most 32`;
  if (args.some((arg) => arg.length > 256)) return 'an argument longer than 256 characters';
  if (args.some(hasControlCharacter)) return 'an argument with control characters';
  return undefined;
}
