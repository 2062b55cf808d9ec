/**
 * The last verification report of each simulation, for the dashboard and GET .../verification:
 * whichever entry point made it (the API's own run, or the CLI handing its report over). Bounded: one
 * report per simulation, at most `limit` simulations (the oldest report goes first).
 */
import type { Report } from './report.ts';

export class ReportStore {
  readonly #reports = new Map<string, Report>();
  readonly #limit: number;

  constructor(limit = 100) {
    this.#limit = limit;
  }

  set(simulationId: string, report: Report): void {
    this.#reports.delete(simulationId);
    this.#reports.set(simulationId, report);
    while (this.#reports.size > this.#limit) {
      const oldest = this.#reports.keys().next().value as string;
      this.#reports.delete(oldest);
    }
  }

  get(simulationId: string): Report | undefined {
    return this.#reports.get(simulationId);
  }
}
