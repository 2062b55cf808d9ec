/**
 * The in-process event bus: simulation lifecycle, process starts and exits, chaos. The API streams it
 * (SSE), the telemetry counts it, the log prints it. Keeps a bounded history for late subscribers.
 */
import { EventEmitter } from 'node:events';
import type { Priority } from '../profiles/schema.ts';

export type ExitReason = 'lifetime' | 'stopped' | 'killed' | 'crashed';

export type SimulatorEvent =
  | {
      type: 'SimulationCreated' | 'SimulationStarted' | 'SimulationStopped' | 'SimulationCompleted';
      simulationId: string;
      name: string;
    }
  | { type: 'SimulationFailed'; simulationId: string; name: string; reason: string }
  | { type: 'RampStopped'; simulationId: string; started: number; planned: number; reason: string }
  | {
      type: 'ProcessStarted';
      simulationId: string;
      pid: number;
      name: string;
      priority: Priority;
      generation: number;
    }
  | {
      type: 'ProcessExited';
      simulationId: string;
      pid: number;
      name: string;
      priority: Priority;
      reason: ExitReason;
      exitCode: number | undefined;
      signal: string | undefined;
    }
  | {
      type: 'ChaosStarted' | 'ChaosEnded';
      simulationId: string | undefined;
      faultId: string;
      kind: string;
      pids: number[];
    }
  | {
      /** random chaos drew a fault that the door refused (it would exceed a limit) or that failed */
      type: 'ChaosRefused';
      simulationId: string;
      kind: string;
      reason: string;
    };

export type TimedEvent = SimulatorEvent & { seq: number; time: string };

/** A typed emitter with a history of the last `historySize` events. */
export class EventBus {
  readonly #emitter = new EventEmitter();
  readonly #history: TimedEvent[] = [];
  readonly #historySize: number;
  #seq = 0;

  constructor(historySize = 1000) {
    this.#historySize = historySize;
    // every SSE client subscribes; the default cap of 10 listeners would warn
    this.#emitter.setMaxListeners(0);
  }

  emit(event: SimulatorEvent): TimedEvent {
    const timed = { ...event, seq: ++this.#seq, time: new Date().toISOString() } as TimedEvent;
    this.#history.push(timed);
    if (this.#history.length > this.#historySize) this.#history.shift();
    this.#emitter.emit('event', timed);
    return timed;
  }

  /** Subscribes to every event; returns the function that unsubscribes. */
  subscribe(listener: (event: TimedEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  /** Events kept in memory, oldest first. */
  history(): readonly TimedEvent[] {
    return this.#history;
  }
}
