/**
 * The books of chaos: active faults (faults.ts), each one's record in its simulation's timeline, and
 * the events that announce its start and end. Ending a fault is idempotent and never throws, whoever
 * ends it first: its deadline, a recovery, its simulation's stop, or the exit of its last process.
 */
import type { EventBus } from './events.ts';
import { type Fault, FaultSet } from './faults.ts';
import type { ProcessRegistry } from './processes.ts';
import type { Simulation } from './simulation.ts';

export class FaultBook {
  readonly active = new FaultSet();
  readonly #processes: ProcessRegistry;
  readonly #simulations: () => Iterable<Simulation>;
  readonly #simulation: (id: string) => Simulation | undefined;
  readonly #events: EventBus;

  constructor(deps: {
    processes: ProcessRegistry;
    simulations: () => Iterable<Simulation>;
    simulation: (id: string) => Simulation | undefined;
    events: EventBus;
  }) {
    this.#processes = deps.processes;
    this.#simulations = deps.simulations;
    this.#simulation = deps.simulation;
    this.#events = deps.events;
  }

  /** A lasting fault (spike, leak) begins: active from now, recorded, announced. */
  start(fault: Fault): void {
    this.active.add(fault);
    this.record(fault);
  }

  /** Records a fault in the timeline of each simulation it hits and announces it (kills too). */
  record(fault: Fault): void {
    const pids = [...fault.pids];
    const bySimulation = new Map<string, number[]>();
    for (const pid of pids) {
      const owner = this.#processes.get(pid)?.simulationId;
      if (owner) bySimulation.set(owner, [...(bySimulation.get(owner) ?? []), pid]);
    }
    for (const [simulationId, simPids] of bySimulation) {
      this.#simulation(simulationId)?.recordChaos({
        faultId: fault.id,
        kind: fault.kind,
        origin: fault.origin,
        atMs: fault.startedAtMs,
        pids: simPids,
        names: simPids.map((pid) => this.#processes.get(pid)?.name ?? '?'),
      });
    }
    this.#events.emit({
      type: 'ChaosStarted',
      simulationId: fault.simulationId,
      faultId: fault.id,
      kind: fault.kind,
      pids,
    });
  }

  /** Announces the end of an instant fault (a kill), which was never active. */
  instantEnded(fault: Fault): void {
    this.#announceEnd(fault);
  }

  /** Ends a fault if it is active; undefined when it had already ended (never throws). */
  end(id: string): Fault | undefined {
    const fault = this.active.remove(id);
    if (!fault) return undefined;
    const now = Date.now();
    for (const simulation of this.#simulations()) {
      const record = simulation.chaos.find((entry) => entry.faultId === id);
      if (record) record.endedAtMs = now;
    }
    this.#announceEnd(fault);
    return fault;
  }

  /** Ends the faults whose deadline passed and those none of whose processes is left; returns them. */
  endDue(nowMs: number): Fault[] {
    const ended: Fault[] = [];
    for (const fault of this.active.expired(nowMs)) if (this.end(fault.id)) ended.push(fault);
    for (const fault of this.active.orphaned((pid) => this.#processes.get(pid) !== undefined))
      if (this.end(fault.id)) ended.push(fault);
    return ended;
  }

  /** Ends every fault of a simulation (it stops). */
  endAllOf(simulationId: string): void {
    for (const fault of this.active.list()) if (fault.simulationId === simulationId) this.end(fault.id);
  }

  #announceEnd(fault: Fault): void {
    this.#events.emit({
      type: 'ChaosEnded',
      simulationId: fault.simulationId,
      faultId: fault.id,
      kind: fault.kind,
      pids: [...fault.pids],
    });
  }
}
