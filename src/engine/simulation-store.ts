/**
 * The simulations the engine keeps, bounded whatever a client does: at most `maxUnstarted` created and
 * not started (each holds only its profile), at most `maxSimulations` in all, the oldest ended ones
 * forgotten first to make room. Past the caps a new one is refused, naming the limit.
 */
import { EngineError } from './errors.ts';
import type { Simulation } from './simulation.ts';

export class SimulationStore {
  readonly maxSimulations: number;
  readonly maxUnstarted: number;
  readonly #byId = new Map<string, Simulation>();

  constructor(limits: { maxSimulations: number; maxUnstarted: number }) {
    this.maxSimulations = limits.maxSimulations;
    this.maxUnstarted = limits.maxUnstarted;
  }

  get(id: string): Simulation | undefined {
    return this.#byId.get(id);
  }

  /** @throws EngineError not_found */
  require(id: string): Simulation {
    const simulation = this.#byId.get(id);
    if (!simulation)
      throw new EngineError('not_found', `no simulation with id ${JSON.stringify(id)}`, { id });
    return simulation;
  }

  values(): IterableIterator<Simulation> {
    return this.#byId.values();
  }

  list(): Simulation[] {
    return [...this.#byId.values()];
  }

  delete(id: string): void {
    this.#byId.delete(id);
  }

  /**
   * Keeps `simulation`, forgetting the oldest ended ones if the store is full.
   * @throws EngineError limit_exceeded when too many are unstarted, or full and none has ended
   */
  add(simulation: Simulation): void {
    const all = this.list();
    const unstarted = all.filter((s) => s.state === 'created').length;
    if (unstarted >= this.maxUnstarted) {
      throw new EngineError(
        'limit_exceeded',
        `${unstarted} simulations are created and not started; the limit is ${this.maxUnstarted}: start or delete some first`,
        { limit: 'unstarted simulations', value: this.maxUnstarted, requested: unstarted + 1 },
      );
    }
    const ended = all
      .filter((s) => s.endedAtMs !== undefined)
      .sort((a, b) => (a.endedAtMs ?? 0) - (b.endedAtMs ?? 0));
    let excess = all.length + 1 - this.maxSimulations;
    if (excess > ended.length) {
      throw new EngineError(
        'limit_exceeded',
        `${all.length} simulations are kept and too few have ended; the limit is ${this.maxSimulations}: stop or delete some first`,
        { limit: 'simulations', value: this.maxSimulations, requested: all.length + 1 },
      );
    }
    for (const old of ended) {
      if (excess <= 0) break;
      this.#byId.delete(old.id);
      excess--;
    }
    this.#byId.set(simulation.id, simulation);
  }
}
