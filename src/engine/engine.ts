/**
 * The engine: the only owner of simulated processes. It spawns them from profiles, keeps each one's
 * control slot on its pattern, ends them at the end of their lifetime, replaces them as their template
 * says, injects faults into its own children only, and stops every child on shutdown. The API and the
 * sampler use only this public surface.
 */
import { randomUUID } from 'node:crypto';
import { valueAt } from '../profiles/patterns.ts';
import { lifetimeOf, type PlannedProcess, peakMemoryMiB, processSeedKey } from '../profiles/plan.ts';
import { createRng, hashKey } from '../profiles/random.ts';
import { expandName, PRIORITIES, type Priority } from '../profiles/schema.ts';
import { ControlTable, type SlotTargets } from '../workload/control-table.ts';
import { resolveWorker } from '../workload/worker-path.ts';
import { EngineError } from './errors.ts';
import { EventBus, type ExitReason } from './events.ts';
import { type Fault, FaultSet } from './faults.ts';
import { machineTaskCount, readMachineLimits } from './limits.ts';
import { type ManagedProcess, type ProcessInfo, toProcessInfo } from './managed-process.ts';
import { createRuntimeDir, type RuntimeDir } from './runtime-dir.ts';
import { Simulation, type SimulationSpec } from './simulation.ts';
import { createNodeSpawner, SpawnError, type Spawner } from './spawner.ts';

export interface EngineOptions {
  /** most simulated processes alive at once, over all simulations @default 12000 */
  maxProcesses?: number;
  /** how often pattern targets are recomputed and lifetimes checked @default 1000 */
  controlIntervalMs?: number;
  /** time between SIGTERM and SIGKILL when stopping a process @default 3000 */
  stopGraceMs?: number;
  /** processes spawned between two yields to the event loop during a ramp @default 50 */
  rampBatch?: number;
  /** how children are started @default createNodeSpawner() */
  spawner?: Spawner;
  events?: EventBus;
}

/** Worker memory floor in MiB, used for headroom checks (measured idle RSS is below this). */
const WORKER_FLOOR_MIB = 1;

export class Engine {
  readonly events: EventBus;
  readonly maxProcesses: number;
  readonly workerKind: 'native' | 'node';
  readonly #simulations = new Map<string, Simulation>();
  readonly #live = new Map<number, ManagedProcess>();
  readonly #faults = new FaultSet();
  readonly #spawner: Spawner;
  readonly #table: ControlTable;
  readonly #runtime: RuntimeDir;
  readonly #workerPath: string;
  readonly #controlTimer: NodeJS.Timeout;
  readonly #stopGraceMs: number;
  readonly #rampBatch: number;
  #closed = false;

  constructor(options: EngineOptions = {}) {
    this.maxProcesses = options.maxProcesses ?? 12_000;
    this.#stopGraceMs = options.stopGraceMs ?? 3000;
    this.#rampBatch = options.rampBatch ?? 50;
    this.events = options.events ?? new EventBus();
    this.#spawner = options.spawner ?? createNodeSpawner();
    const worker = resolveWorker();
    this.workerKind = worker.kind;
    this.#workerPath = worker.path;
    this.#runtime = createRuntimeDir(worker.kind === 'native' ? worker.path : process.execPath);
    this.#table = ControlTable.create(this.#runtime.controlFile, this.maxProcesses);
    this.#controlTimer = setInterval(() => this.#controlTick(), options.controlIntervalMs ?? 1000);
    this.#controlTimer.unref();
  }

  // ---- simulations -------------------------------------------------------------------------------

  /**
   * Registers a simulation without starting it.
   * @throws EngineError limit_exceeded when the plan exceeds the process cap or what the machine holds now
   */
  createSimulation(spec: SimulationSpec): Simulation {
    this.#assertOpen();
    // Counted before planning: a profile may ask for millions, and the plan would be built first.
    const requested = spec.profile.templates.reduce((sum, template) => sum + template.count, 0);
    if (requested > this.maxProcesses) {
      throw new EngineError(
        'limit_exceeded',
        `simulation asks for ${requested} processes; the cap MAX_PROCESSES is ${this.maxProcesses}`,
        { limit: 'MAX_PROCESSES', value: this.maxProcesses, requested },
      );
    }
    const simulation = new Simulation(randomUUID(), spec);
    // Refused now rather than at start: a caller learns at once that the machine cannot hold it.
    this.#checkCapacity(simulation);
    this.#simulations.set(simulation.id, simulation);
    this.events.emit({ type: 'SimulationCreated', simulationId: simulation.id, name: spec.name });
    return simulation;
  }

  getSimulation(id: string): Simulation {
    const simulation = this.#simulations.get(id);
    if (!simulation)
      throw new EngineError('not_found', `no simulation with id ${JSON.stringify(id)}`, { id });
    return simulation;
  }

  listSimulations(): Simulation[] {
    return [...this.#simulations.values()];
  }

  /**
   * Checks, without side effects, that `startSimulation(id)` would be accepted now, so a caller that does
   * not wait for the ramp can still report a refusal synchronously.
   * @throws EngineError not_found, conflict (not in state created) or limit_exceeded
   */
  assertCanStart(id: string): Simulation {
    this.#assertOpen();
    const simulation = this.getSimulation(id);
    if (simulation.state !== 'created') {
      throw new EngineError(
        'conflict',
        `simulation ${id} is ${simulation.state}; only a created simulation can start`,
        {
          state: simulation.state,
        },
      );
    }
    this.#checkCapacity(simulation);
    return simulation;
  }

  /**
   * Starts a created simulation: checks the machine's limits, then spawns its processes in batches.
   * Resolves when the ramp is over (all spawned, or stopped early by a spawn failure, which is recorded
   * in `rampWarning`; the simulation fails only if nothing could be spawned).
   * @throws EngineError conflict (not in state created) or limit_exceeded (refused before any spawn)
   */
  async startSimulation(id: string): Promise<Simulation> {
    const simulation = this.assertCanStart(id);
    simulation.state = 'starting';
    simulation.startedAtMs = Date.now();
    this.events.emit({ type: 'SimulationStarted', simulationId: id, name: simulation.spec.name });
    if (simulation.spec.durationMs !== undefined) {
      const timer = setTimeout(
        () => void this.stopSimulation(id, 'completed').catch(() => {}),
        simulation.spec.durationMs,
      );
      timer.unref();
      simulation.pendingRestarts.add(timer);
    }
    let started = 0;
    for (const planned of simulation.planned) {
      if (!simulation.isActive) break;
      try {
        await this.#spawnProcess(simulation, planned, 0);
        started++;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        simulation.rampWarning = `ramp stopped after ${started} of ${simulation.planned.length} processes: ${reason}`;
        this.events.emit({
          type: 'RampStopped',
          simulationId: id,
          started,
          planned: simulation.planned.length,
          reason,
        });
        if (started === 0) {
          simulation.failureReason = reason;
          await this.stopSimulation(id, 'failed');
          return simulation;
        }
        break;
      }
      if (started % this.#rampBatch === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (simulation.state === 'starting') {
      simulation.state = 'running';
      if (simulation.spec.chaos) this.#startRandomChaos(simulation);
    }
    return simulation;
  }

  /**
   * Stops every process of the simulation (SIGTERM, then SIGKILL after the grace period) and waits for
   * all of them to be reaped. `final` is the state it ends in.
   */
  async stopSimulation(
    id: string,
    final: 'stopped' | 'completed' | 'failed' = 'stopped',
  ): Promise<Simulation> {
    const simulation = this.getSimulation(id);
    if (!simulation.isActive && simulation.state !== 'stopping') return simulation;
    if (simulation.state !== 'stopping') {
      simulation.state = 'stopping';
      for (const timer of simulation.pendingRestarts) clearTimeout(timer);
      simulation.pendingRestarts.clear();
    }
    const exits = [...simulation.processes.values()].map((process) => {
      this.#terminate(process, 'stopped');
      return process.child.exited;
    });
    await Promise.all(exits);
    for (const fault of this.#faults.list()) if (fault.simulationId === id) this.recoverFault(fault.id);
    if (simulation.state === 'stopping') {
      simulation.state = final;
      simulation.endedAtMs = Date.now();
      const name = simulation.spec.name;
      if (final === 'failed') {
        this.events.emit({
          type: 'SimulationFailed',
          simulationId: id,
          name,
          reason: simulation.failureReason ?? 'unknown',
        });
      } else {
        this.events.emit({
          type: final === 'completed' ? 'SimulationCompleted' : 'SimulationStopped',
          simulationId: id,
          name,
        });
      }
    }
    return simulation;
  }

  /**
   * Forgets a simulation that is not running.
   * @throws EngineError conflict while it runs
   */
  deleteSimulation(id: string): void {
    const simulation = this.getSimulation(id);
    if (simulation.isActive || simulation.state === 'stopping') {
      throw new EngineError(
        'conflict',
        `simulation ${id} is ${simulation.state}; stop it before deleting it`,
        { state: simulation.state },
      );
    }
    this.#simulations.delete(id);
  }

  // ---- processes ---------------------------------------------------------------------------------

  /** Every live simulated process (all simulations). */
  liveProcesses(): ProcessInfo[] {
    return [...this.#live.values()].map(toProcessInfo);
  }

  /** Number of live simulated processes. */
  get liveCount(): number {
    return this.#live.size;
  }

  /** Live processes by priority over all simulations, from their running counts (no walk of the processes). */
  liveByPriority(): Record<Priority, number> {
    const counts: Record<Priority, number> = { critical: 0, high: 0, medium: 0, low: 0 };
    for (const simulation of this.#simulations.values()) {
      const live = simulation.liveByPriority();
      for (const priority of PRIORITIES) counts[priority] += live[priority];
    }
    return counts;
  }

  /** True when `pid` is a live child of this engine. */
  owns(pid: number): boolean {
    return this.#live.has(pid);
  }

  processesOf(simulationId: string): ProcessInfo[] {
    return [...this.getSimulation(simulationId).processes.values()].map(toProcessInfo);
  }

  // ---- faults ------------------------------------------------------------------------------------

  /**
   * Live processes of this engine whose name matches `pattern` (`*` and `?` wildcards), optionally in
   * one simulation. Critical processes are included only when `includeCritical` is set or the pattern
   * names them exactly (no wildcard).
   */
  selectProcesses(
    pattern: string,
    options: { simulationId?: string; includeCritical?: boolean } = {},
  ): ProcessInfo[] {
    const exact = !/[*?]/.test(pattern);
    const regex = globToRegExp(pattern);
    return (
      [...this.#live.values()]
        .filter(
          (process) => options.simulationId === undefined || process.simulationId === options.simulationId,
        )
        // one already being ended is no target: a kill would only relabel why it exits
        .filter((process) => process.stopReason === undefined)
        .filter((process) => regex.test(process.name))
        .filter((process) => process.priority !== 'critical' || options.includeCritical || exact)
        .map(toProcessInfo)
    );
  }

  /**
   * Starts a CPU spike or memory leak on the given PIDs (which must be this engine's live children).
   * @throws EngineError invalid when a PID is not one of ours; limit_exceeded when a leak would take more
   * than half of MemAvailable by its end
   */
  injectFault(request: Omit<Fault, 'id' | 'startedAtMs' | 'endsAtMs'> & { durationMs: number }): Fault {
    for (const pid of request.pids) this.#ownedProcess(pid);
    if (request.kind === 'memory-leak')
      this.#checkLeak(request.leakBytesPerSecond ?? 0, request.durationMs, request.pids.size);
    const now = Date.now();
    const { durationMs, ...fault } = request;
    const full: Fault = { ...fault, id: randomUUID(), startedAtMs: now, endsAtMs: now + durationMs };
    this.#faults.add(full);
    this.#recordChaos(full);
    this.#controlTick();
    return full;
  }

  /**
   * Kills the given PIDs (this engine's children only) with `signal`; they are recorded as killed and
   * replaced if their template restarts them.
   */
  killProcesses(
    pids: readonly number[],
    signal: NodeJS.Signals,
    origin: 'api' | 'random',
    simulationId?: string,
  ): Fault {
    const processes = pids.map((pid) => this.#ownedProcess(pid));
    const now = Date.now();
    const fault: Fault = {
      id: randomUUID(),
      kind: 'process-kill',
      simulationId,
      pids: new Set(pids),
      startedAtMs: now,
      endsAtMs: now,
      signal,
      origin,
    };
    this.#recordChaos(fault);
    for (const process of processes) this.#terminate(process, 'killed', signal);
    this.events.emit({
      type: 'ChaosEnded',
      simulationId,
      faultId: fault.id,
      kind: fault.kind,
      pids: [...pids],
    });
    return fault;
  }

  activeFaults(): Fault[] {
    return this.#faults.list();
  }

  /** Ends a fault now; its processes return to their pattern at the next control tick (forced here). */
  recoverFault(id: string): Fault {
    const fault = this.#faults.remove(id);
    if (!fault) throw new EngineError('not_found', `no active fault with id ${JSON.stringify(id)}`, { id });
    const now = Date.now();
    for (const simulation of this.#simulations.values()) {
      const record = simulation.chaos.find((entry) => entry.faultId === id);
      if (record) record.endedAtMs = now;
    }
    this.events.emit({
      type: 'ChaosEnded',
      simulationId: fault.simulationId,
      faultId: id,
      kind: fault.kind,
      pids: [...fault.pids],
    });
    this.#controlTick();
    return fault;
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /** Stops every simulation, waits until every child is reaped, removes the runtime files. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#controlTimer);
    await Promise.all(this.listSimulations().map((simulation) => this.stopSimulation(simulation.id)));
    // Anything still alive (should be nothing) is killed outright.
    await Promise.all(
      [...this.#live.values()].map((process) => {
        process.child.signalGroup('SIGKILL');
        return process.child.exited;
      }),
    );
    this.#table.close();
    this.#runtime.remove();
  }

  // ---- internals ---------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new EngineError('conflict', 'the engine is shutting down');
  }

  #ownedProcess(pid: number): ManagedProcess {
    const process = this.#live.get(pid);
    if (!process)
      throw new EngineError('invalid', `process ${pid} is not a live simulated process of this simulator`, {
        pid,
      });
    return process;
  }

  /** Refuses a leak that would eat more than half of the machine's available memory by its end. */
  #checkLeak(bytesPerSecond: number, durationMs: number, processes: number): void {
    const total = (bytesPerSecond * durationMs * processes) / 1000;
    const available = readMachineLimits().memAvailableBytes;
    if (total > available * 0.5) {
      throw new EngineError(
        'limit_exceeded',
        `a leak of ${Math.round(bytesPerSecond)} B/s for ${durationMs} ms on ${processes} processes adds ${Math.round(total / 2 ** 20)} MiB; only half of MemAvailable (${Math.round(available / 2 ** 21)} MiB) may be leaked`,
        { limit: 'MemAvailable', value: available, requested: Math.round(total) },
      );
    }
  }

  /** Refuses a start that the cap or the machine cannot hold, naming the limit and its value. */
  #checkCapacity(simulation: Simulation): void {
    const wanted = simulation.planned.length;
    const reserved = this.listSimulations()
      .filter((other) => other !== simulation && other.isActive)
      .reduce((sum, other) => sum + Math.max(other.planned.length, other.processes.size), 0);
    const refuse = (limit: string, value: number, message: string): never => {
      throw new EngineError('limit_exceeded', message, { limit, value, requested: wanted });
    };
    if (reserved + wanted > this.maxProcesses) {
      refuse(
        'MAX_PROCESSES',
        this.maxProcesses,
        `${wanted} processes on top of ${reserved} running would exceed MAX_PROCESSES=${this.maxProcesses}`,
      );
    }
    const limits = readMachineLimits();
    const threads = simulation.spec.profile.templates.reduce((sum, t) => sum + t.count * t.threads, 0);
    const tasksNow = machineTaskCount();
    if (tasksNow + threads > limits.pidMax * 0.9) {
      refuse(
        'pid_max',
        limits.pidMax,
        `${threads} new tasks on top of ${tasksNow} would exceed 90% of kernel.pid_max=${limits.pidMax}`,
      );
    }
    if (tasksNow + threads > limits.maxUserProcesses * 0.9) {
      refuse(
        'ulimit -u',
        limits.maxUserProcesses,
        `${threads} new tasks on top of ${tasksNow} would exceed 90% of ulimit -u=${limits.maxUserProcesses}`,
      );
    }
    const peakBytes = peakMemoryMiB(simulation.spec.profile, WORKER_FLOOR_MIB) * 1024 * 1024;
    if (peakBytes > limits.memAvailableBytes * 0.8) {
      refuse(
        'MemAvailable',
        limits.memAvailableBytes,
        `the profile may hold ${Math.round(peakBytes / 2 ** 20)} MiB at its peak, more than 80% of MemAvailable=${Math.round(limits.memAvailableBytes / 2 ** 20)} MiB`,
      );
    }
  }

  async #spawnProcess(
    simulation: Simulation,
    planned: PlannedProcess,
    generation: number,
  ): Promise<ManagedProcess> {
    const { template } = planned;
    const seedKey = processSeedKey(simulation.spec.seed, planned.templateIndex, planned.index, generation);
    const name = expandName(template.name, planned.index, generation);
    const slot = this.#table.allocate();
    const targets = this.#targetsAt(template, seedKey, 0);
    let child: Awaited<ReturnType<Spawner['spawn']>>;
    const native = this.workerKind === 'native';
    let linked = false;
    try {
      this.#table.write(slot, targets);
      const executable = native ? this.#runtime.executableFor(name) : process.execPath;
      linked = native;
      child = await this.#spawner.spawn({
        executable,
        argv0: name,
        args: native ? template.args : [this.#workerPath, ...template.args],
        env: {
          PSIM_CONTROL_FILE: this.#runtime.controlFile,
          PSIM_SLOT: String(slot),
          PSIM_PARENT_PID: String(process.pid),
          PSIM_NAME: name,
        },
      });
    } catch (error) {
      this.#table.release(slot);
      if (linked) this.#runtime.release(name);
      if (error instanceof SpawnError) throw error;
      throw new SpawnError('UNKNOWN', `cannot start ${name}: ${(error as Error).message}`, { cause: error });
    }
    const startedAtMs = Date.now();
    const lifetime = lifetimeOf(template, seedKey);
    const managed: ManagedProcess = {
      pid: child.pid,
      name,
      simulationId: simulation.id,
      profile: simulation.spec.profile.name,
      planned,
      template,
      priority: template.priority,
      generation,
      seedKey,
      slot,
      startedAtMs,
      deadlineMs: lifetime === undefined ? undefined : startedAtMs + lifetime,
      child,
      stopReason: undefined,
      targets,
    };
    this.#live.set(child.pid, managed);
    simulation.recordStart(managed);
    this.events.emit({
      type: 'ProcessStarted',
      simulationId: simulation.id,
      pid: child.pid,
      name,
      priority: template.priority,
      generation,
    });
    void child.exited.then((exit) => this.#onExit(simulation, managed, exit.exitCode, exit.signal));
    return managed;
  }

  #onExit(
    simulation: Simulation,
    process: ManagedProcess,
    exitCode: number | undefined,
    signal: string | undefined,
  ): void {
    this.#live.delete(process.pid);
    this.#table.release(process.slot);
    if (this.workerKind === 'native') this.#runtime.release(process.name);
    const reason: ExitReason = process.stopReason ?? 'crashed';
    simulation.recordExit(process, reason, exitCode, signal);
    this.events.emit({
      type: 'ProcessExited',
      simulationId: simulation.id,
      pid: process.pid,
      name: process.name,
      priority: process.priority,
      reason,
      exitCode,
      signal,
    });
    if (!simulation.isActive || this.#closed) return;
    const { restart, restart_delay: delay } = process.template;
    const replace =
      restart === 'always' || (restart === 'on-failure' && (reason === 'crashed' || reason === 'killed'));
    if (!replace) return;
    const respawn = () => {
      simulation.pendingRestarts.delete(timer);
      if (!simulation.isActive || this.#closed) return;
      this.#spawnProcess(simulation, process.planned, process.generation + 1).catch((error: Error) => {
        simulation.rampWarning = `a replacement of ${process.name} could not start: ${error.message}`;
      });
    };
    const timer = setTimeout(respawn, delay);
    timer.unref();
    simulation.pendingRestarts.add(timer);
  }

  /** Asks a process to end (process-group signal) and escalates to SIGKILL after the grace period. */
  #terminate(process: ManagedProcess, reason: ExitReason, signal: NodeJS.Signals = 'SIGTERM'): void {
    process.stopReason ??= reason;
    if (!process.child.signalGroup(signal)) return;
    if (signal === 'SIGKILL') return;
    const escalate = setTimeout(() => process.child.signalGroup('SIGKILL'), this.#stopGraceMs);
    escalate.unref();
    void process.child.exited.then(() => clearTimeout(escalate));
  }

  #targetsAt(template: PlannedProcess['template'], seedKey: string, elapsedMs: number): SlotTargets {
    const cpuPercent = valueAt(template.cpu, elapsedMs, `${seedKey}/cpu`);
    const memoryMiB = valueAt(template.memory, elapsedMs, `${seedKey}/memory`);
    return {
      cpuPermille: Math.min(1000, Math.max(0, Math.round(cpuPercent * 10))),
      rssKiB: Math.max(0, Math.round(memoryMiB * 1024)),
      threads: template.threads,
      fds: template.fds,
    };
  }

  /**
   * Once a second: every process's targets from its pattern and active faults, written to its slot and
   * signalled only when they changed (an idle steady process is never woken); lifetimes; fault ends.
   */
  #controlTick(): void {
    const now = Date.now();
    for (const fault of this.#faults.expired(now)) {
      if (fault.kind !== 'process-kill') this.recoverFault(fault.id);
    }
    for (const process of this.#live.values()) {
      if (process.stopReason) continue;
      // A worker blocks SIGUSR1 in its first microseconds; until then the signal would kill it. It
      // read its slot at start anyway, and the next tick catches up.
      if (now - process.startedAtMs < 100) continue;
      if (process.deadlineMs !== undefined && now >= process.deadlineMs) {
        this.#terminate(process, 'lifetime');
        continue;
      }
      const base = this.#targetsAt(process.template, process.seedKey, now - process.startedAtMs);
      const targets = this.#faults.apply(process.pid, base, now);
      const old = process.targets;
      if (
        targets.cpuPermille === old.cpuPermille &&
        targets.rssKiB === old.rssKiB &&
        targets.threads === old.threads &&
        targets.fds === old.fds
      ) {
        continue;
      }
      process.targets = targets;
      this.#table.write(process.slot, targets);
      process.child.signal('SIGUSR1');
    }
  }

  #recordChaos(fault: Fault): void {
    const pids = [...fault.pids];
    const bySimulation = new Map<string, number[]>();
    for (const pid of pids) {
      const owner = this.#live.get(pid)?.simulationId;
      if (owner) bySimulation.set(owner, [...(bySimulation.get(owner) ?? []), pid]);
    }
    for (const [simulationId, simPids] of bySimulation) {
      this.#simulations.get(simulationId)?.chaos.push({
        faultId: fault.id,
        kind: fault.kind,
        origin: fault.origin,
        atMs: fault.startedAtMs,
        pids: simPids,
        names: simPids.map((pid) => this.#live.get(pid)?.name ?? '?'),
      });
    }
    this.events.emit({
      type: 'ChaosStarted',
      simulationId: fault.simulationId,
      faultId: fault.id,
      kind: fault.kind,
      pids,
    });
  }

  /** Random faults at the profile's rates, drawn from the simulation's seed; critical processes spared. */
  #startRandomChaos(simulation: Simulation): void {
    const settings = simulation.spec.profile.chaos ?? {
      failures_per_minute: 2,
      spikes_per_minute: 2,
      spike_percent: 80,
      spike_duration: 15_000,
      leaks_per_minute: 0.5,
      leak_mib_per_minute: 20,
      leak_duration: 60_000,
    };
    const random = createRng(hashKey(simulation.spec.seed, 'chaos'));
    const timer = setInterval(() => {
      if (!simulation.isActive) return clearInterval(timer);
      const candidates = [...simulation.processes.values()].filter(
        (p) => p.priority !== 'critical' && !p.stopReason,
      );
      const pick = () => candidates[Math.floor(random() * candidates.length)];
      if (random() < settings.failures_per_minute / 60) {
        const victim = pick();
        if (victim) this.killProcesses([victim.pid], 'SIGKILL', 'random', simulation.id);
      }
      if (random() < settings.spikes_per_minute / 60) {
        const victim = pick();
        if (victim) {
          this.injectFault({
            kind: 'cpu-spike',
            simulationId: simulation.id,
            pids: new Set([victim.pid]),
            intensityPercent: settings.spike_percent,
            durationMs: settings.spike_duration,
            origin: 'random',
          });
        }
      }
      if (random() < settings.leaks_per_minute / 60) {
        const victim = pick();
        if (victim) {
          this.injectFault({
            kind: 'memory-leak',
            simulationId: simulation.id,
            pids: new Set([victim.pid]),
            leakBytesPerSecond: (settings.leak_mib_per_minute * 2 ** 20) / 60,
            durationMs: settings.leak_duration,
            origin: 'random',
          });
        }
      }
    }, 1000);
    timer.unref();
    simulation.pendingRestarts.add(timer);
  }
}

/** `nginx-*` -> /^nginx-.*$/ ; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${escaped}$`);
}

export { PRIORITIES };
