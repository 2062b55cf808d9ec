/**
 * Random chaos of one simulation: once a second, seeded draws decide whether a non-critical process of
 * the simulation is killed, spiked or leaks, at the profile's rates. The timer never throws: a fault the
 * door refuses (it would exceed the machine) is counted and reported, and anything unexpected is
 * reported without taking the simulator down.
 */
import { createRng, hashKey } from '../profiles/random.ts';
import type { ChaosSettings } from '../profiles/schema.ts';
import { EngineError } from './errors.ts';
import type { Fault } from './faults.ts';
import type { ManagedProcess } from './managed-process.ts';
import type { Simulation } from './simulation.ts';

/** Rates used when chaos is switched on for a profile that sets none. */
export const DEFAULT_CHAOS: ChaosSettings = {
  failures_per_minute: 2,
  spikes_per_minute: 2,
  spike_percent: 80,
  spike_duration: 15_000,
  leaks_per_minute: 0.5,
  leak_mib_per_minute: 20,
  leak_duration: 60_000,
};

/** What random chaos may do to the engine. */
export interface ChaosActions {
  kill(pid: number, simulationId: string): void;
  inject(request: Omit<Fault, 'id' | 'startedAtMs' | 'endsAtMs'> & { durationMs: number }): void;
  /** a fault was refused (limit) or failed; never throws */
  refused(simulation: Simulation, kind: Fault['kind'], reason: string): void;
}

/**
 * Starts the simulation's random chaos; the timer is kept in `simulation.timers`, so a stop ends it.
 * @param intervalMs how often the draws happen @default 1000
 */
export function startRandomChaos(simulation: Simulation, actions: ChaosActions, intervalMs = 1000): void {
  const settings = simulation.spec.profile.chaos ?? DEFAULT_CHAOS;
  // Each shard of a run draws its own chaos from the run's seed.
  const { shard } = simulation;
  const random = createRng(
    shard.count > 1
      ? hashKey(simulation.spec.seed, 'chaos', shard.index, shard.count)
      : hashKey(simulation.spec.seed, 'chaos'),
  );
  const perTick = intervalMs / 60_000;
  const attempt = (kind: Fault['kind'], act: () => void) => {
    try {
      act();
    } catch (error) {
      const reason =
        error instanceof EngineError ? error.message : `unexpected: ${(error as Error)?.message ?? error}`;
      actions.refused(simulation, kind, reason);
    }
  };
  const timer = setInterval(() => {
    if (!simulation.isActive) {
      clearInterval(timer);
      simulation.timers.delete(timer);
      return;
    }
    const candidates: ManagedProcess[] = [];
    for (const process of simulation.processes.values()) {
      if (process.priority !== 'critical' && !process.stopReason) candidates.push(process);
    }
    // The draws happen whether or not there is a victim, so the sequence stays the same for a seed.
    const pick = () => candidates[Math.floor(random() * candidates.length)];
    if (random() < settings.failures_per_minute * perTick) {
      const victim = pick();
      if (victim) attempt('process-kill', () => actions.kill(victim.pid, simulation.id));
    }
    if (random() < settings.spikes_per_minute * perTick) {
      const victim = pick();
      if (victim) {
        attempt('cpu-spike', () =>
          actions.inject({
            kind: 'cpu-spike',
            simulationId: simulation.id,
            pids: new Set([victim.pid]),
            intensityPercent: settings.spike_percent,
            durationMs: settings.spike_duration,
            origin: 'random',
          }),
        );
      }
    }
    if (random() < settings.leaks_per_minute * perTick) {
      const victim = pick();
      if (victim) {
        attempt('memory-leak', () =>
          actions.inject({
            kind: 'memory-leak',
            simulationId: simulation.id,
            pids: new Set([victim.pid]),
            leakBytesPerSecond: (settings.leak_mib_per_minute * 2 ** 20) / 60,
            durationMs: settings.leak_duration,
            origin: 'random',
          }),
        );
      }
    }
  }, intervalMs);
  timer.unref();
  simulation.timers.add(timer);
}
