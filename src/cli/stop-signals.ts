/**
 * SIGINT and SIGTERM, caught from the first line the program runs. src/main.ts creates this before it
 * loads anything else (the rest of the program takes several hundred milliseconds to load), so a
 * signal during start-up is remembered instead of killing the process half-way through starting
 * workers. No imports: loading this module must cost nothing.
 */

/** Signal numbers on Linux, for the conventional exit code 128 + n. */
const NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

export class StopSignals {
  readonly #controller = new AbortController();
  #onRepeat: ((name: NodeJS.Signals) => void) | undefined;
  readonly #handle = (name: NodeJS.Signals) => {
    if (!this.#controller.signal.aborted) this.#controller.abort(name);
    else if (this.#onRepeat) this.#onRepeat(name);
    else process.exit(exitCodeOf(name));
  };

  constructor() {
    process.on('SIGINT', this.#handle);
    process.on('SIGTERM', this.#handle);
  }

  /** Aborted by the first signal; its reason is the signal's name. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** What a second signal does (by default: exit at once with 128 + its number). */
  onRepeat(handler: (name: NodeJS.Signals) => void): void {
    this.#onRepeat = handler;
  }

  /** Gives the signals back their default action (commands that start nothing). */
  release(): void {
    process.off('SIGINT', this.#handle);
    process.off('SIGTERM', this.#handle);
  }
}

/** 130 for SIGINT, 143 for SIGTERM: what a shell reports for a process ended by the signal. */
export function exitCodeOf(name: string): number {
  return 128 + (NUMBERS[name] ?? 0);
}
