/**
 * The engine: the only owner of simulated processes. It admits simulations and faults at the door
 * (admission.ts), spawns and ends processes (processes.ts), keeps each one on its pattern once a second
 * (the control tick below), injects faults into its own children only (faults.ts, chaos.ts), and stops
 * every child on shutdown. The API, the CLI and the sampler use only this public surface.
 *
 * Promises the engine keeps whatever the timing of requests, faults and signals:
 * - the control tick never throws and never runs inside itself; faults end idempotently, so two faults
 *   ending in one tick, a recovery racing a deadline, or a stop racing both cannot fail;
 * - a stop is one promise per simulation, shared by every caller, and waits for spawns under way, so no
 *   process starts after it; a shutdown stops what is starting as well as what runs;
 * - every timer is unref()ed and cleared by the stop that makes it pointless.
 */
import { randomUUID } from 'node:crypto';
import { type Demand, NO_DEMAND } from '../profiles/demand.ts';
import { lifetimeOf, type PlannedProcess, processSeedKey } from '../profiles/plan.ts';
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import { resolveWorker, type WorkerProgram } from '../workload/worker-path.ts';
import { admit } from './admission.ts';
import { startRandomChaos } from './chaos.ts';
import { ControlLoop } from './control-loop.ts';
import { EngineError } from './errors.ts';
import { EventBus, type ExitReason } from './events.ts';
import { type ExpectedProcess, expectedOf } from './expected.ts';
import { FaultBook } from './fault-book.ts';
import type { Fault } from './faults.ts';
import { compileGlob, isExactPattern } from './glob.ts';
import { createLauncherSpawner, launcherAvailable } from './launcher-spawner.ts';
import { ledgerOf } from './ledger.ts';
import { readMachineLimits } from './limits.ts';
import {
  type ManagedProcess,
  type ProcessInfo,
  type SamplingRecord,
  toProcessInfo,
} from './managed-process.ts';
import { type ProcessObserver, ProcessRegistry } from './processes.ts';
import { checkQuirks } from './quirks.ts';
import { createRuntimeDir, type RuntimeDirOptions } from './runtime-dir.ts';
import { Simulation, type SimulationSpec } from './simulation.ts';
import { SimulationStore } from './simulation-store.ts';
import { createNodeSpawner, type Spawner } from './spawner.ts';
import { patternSeeds, targetsAt } from './targets.ts';
import { checkStartAt, startTimer } from './timers.ts';

export interface EngineOptions {
  /** most simulated processes alive at once, over all simulations @default 12000 */
  maxProcesses?: number;
  /** most simulations kept (created, running and ended); the oldest ended ones are forgotten first @default 100 */
  maxSimulations?: number;
  /** most simulations created and not yet started @default 20 */
  maxUnstarted?: number;
  /** let the CPU the runs ask for exceed the machine's CPUs @default false */
  allowCpuOvercommit?: boolean;
  /** how often pattern targets are recomputed and lifetimes checked @default 1000 */
  controlIntervalMs?: number;
  /** how often random chaos draws @default 1000 */
  chaosIntervalMs?: number;
  /** time between SIGTERM and SIGKILL when stopping a process @default 3000 */
  stopGraceMs?: number;
  /** processes asked for between two yields to the event loop during a ramp @default 50 */
  rampBatch?: number;
  /** how children are started @default the launcher when it and the native worker are built, else createNodeSpawner() */
  spawner?: Spawner;
  /** the program each simulated process runs @default the native worker when built, else the Node fallback */
  worker?: WorkerProgram;
  events?: EventBus;
  /** where the runtime files go (tests) */
  runtime?: RuntimeDirOptions;
  /** told about failures the engine survived (a write that failed in the control tick...) */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

/** Processes ended between two yields to the event loop when a simulation stops. */
const STOP_BATCH = 500;
/** Spawns under way at once during a ramp (see startSimulation). */
const RAMP_WINDOW = 64;

/** Random chaos may ask for a fault the door refuses; tell apart from a request that failed. */
type FaultRequest = Omit<Fault, 'id' | 'startedAtMs' | 'endsAtMs'> & { durationMs: number };

/** What the registry calls once a process has exited and been reaped. */
type ExitListener = (
  process: ManagedProcess,
  exitCode: number | undefined,
  signal: string | undefined,
) => void;

export class Engine {
  readonly events: EventBus;
  readonly maxProcesses: number;
  readonly allowCpuOvercommit: boolean;
  readonly workerKind: 'native' | 'node';
  readonly #simulations: SimulationStore;
  readonly #processes: ProcessRegistry;
  readonly #faults: FaultBook;
  readonly #loop: ControlLoop;
  readonly #removeRuntime: () => void;
  readonly #controlTimer: NodeJS.Timeout;
  readonly #chaosIntervalMs: number;
  readonly #controlIntervalMs: number;
  readonly #rampBatch: number;
  readonly #warn: (message: string, fields: Record<string, unknown>) => void;
  /**
   * One exit listener per simulation, given to each of its processes. Made in `#spawn`, a listener per
   * process kept that call's whole context alive for the process's life, the spawn's settled promise
   * with it: at 10,000 processes, 10,000 closures, contexts and promises, marked at every full collection.
   */
  readonly #exitListeners = new WeakMap<Simulation, ExitListener>();
  #closed = false;
  #shutdown: Promise<void> | undefined;

  constructor(options: EngineOptions = {}) {
    this.maxProcesses = options.maxProcesses ?? 12_000;
    this.#simulations = new SimulationStore({
      maxSimulations: options.maxSimulations ?? 100,
      maxUnstarted: options.maxUnstarted ?? 20,
    });
    this.allowCpuOvercommit = options.allowCpuOvercommit ?? false;
    this.#rampBatch = options.rampBatch ?? 50;
    this.#chaosIntervalMs = options.chaosIntervalMs ?? 1000;
    this.events = options.events ?? new EventBus();
    this.#warn =
      options.warn ??
      ((message, fields) => process.emitWarning(`${message} ${JSON.stringify(fields)}`, 'EngineWarning'));
    const worker = options.worker ?? resolveWorker();
    this.workerKind = worker.kind;
    const runtime = createRuntimeDir(
      worker.kind === 'native' ? worker.path : process.execPath,
      options.runtime,
    );
    this.#removeRuntime = () => runtime.remove();
    try {
      this.#processes = new ProcessRegistry({
        worker,
        runtime,
        spawner: options.spawner ?? defaultSpawner(worker),
        capacity: this.maxProcesses,
        stopGraceMs: options.stopGraceMs ?? 3000,
      });
    } catch (error) {
      runtime.remove();
      throw error;
    }
    this.#faults = new FaultBook({
      processes: this.#processes,
      simulations: () => this.#simulations.values(),
      simulation: (id) => this.#simulations.get(id),
      events: this.events,
    });
    this.#controlIntervalMs = options.controlIntervalMs ?? 1000;
    this.#loop = new ControlLoop({
      processes: this.#processes,
      faults: this.#faults,
      warn: this.#warn,
      intervalMs: this.#controlIntervalMs,
    });
    this.#controlTimer = setInterval(() => {
      if (!this.#closed) this.#loop.tick();
    }, this.#controlIntervalMs);
    this.#controlTimer.unref();
  }

  // ---- simulations -------------------------------------------------------------------------------

  /**
   * Registers a simulation without starting it.
   * @throws EngineError limit_exceeded when the run exceeds the process cap or what the machine can hold
   *   beside what already runs, or when too many simulations are kept
   */
  createSimulation(spec: SimulationSpec): Simulation {
    this.#assertOpen();
    checkQuirks(spec.profile);
    const simulation = new Simulation(randomUUID(), spec);
    // Refused now rather than at start: a caller learns at once that the machine cannot hold it.
    this.#admitSimulation(simulation);
    if (spec.startAtMs !== undefined) checkStartAt(spec.startAtMs);
    this.#simulations.add(simulation);
    this.events.emit({ type: 'SimulationCreated', simulationId: simulation.id, name: spec.name });
    if (spec.startAtMs !== undefined) this.#scheduleStart(simulation, spec.startAtMs);
    return simulation;
  }

  /**
   * Starts the simulation on its own at `startAtMs` (every shard of a run waits for the same moment);
   * at once when that moment has passed. A start by hand before it cancels the wait.
   */
  #scheduleStart(simulation: Simulation, startAtMs: number): void {
    const start = () => {
      simulation.startTimer = undefined;
      if (simulation.state !== 'created' || this.#closed) return;
      this.startSimulation(simulation.id).catch((error: Error) => {
        simulation.failureReason = `the scheduled start failed: ${error.message}`;
        this.#warn('a scheduled start failed', { simulation: simulation.id, error: error.message });
      });
    };
    simulation.startTimer = startTimer(start, Math.max(0, startAtMs - Date.now()));
  }

  /** @throws EngineError not_found */
  getSimulation(id: string): Simulation {
    return this.#simulations.require(id);
  }

  listSimulations(): Simulation[] {
    return this.#simulations.list();
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
        { state: simulation.state },
      );
    }
    this.#admitSimulation(simulation);
    return simulation;
  }

  /**
   * Starts a created simulation: checks the limits, then spawns its processes in batches. Resolves when
   * the ramp is over (all spawned, stopped by a stop or a shutdown, or cut short by a spawn failure,
   * recorded in `rampWarning`; the simulation fails only if nothing could be spawned).
   * @throws EngineError conflict (not in state created) or limit_exceeded (refused before any spawn)
   */
  async startSimulation(id: string): Promise<Simulation> {
    const simulation = this.assertCanStart(id);
    if (simulation.startTimer) clearTimeout(simulation.startTimer);
    simulation.startTimer = undefined;
    simulation.state = 'starting';
    simulation.startedAtMs = Date.now();
    if (simulation.spec.startAtMs !== undefined) {
      simulation.startSkewMs = simulation.startedAtMs - simulation.spec.startAtMs;
    }
    this.events.emit({ type: 'SimulationStarted', simulationId: id, name: simulation.spec.name });
    if (simulation.spec.durationMs !== undefined) {
      simulation.timers.add(
        startTimer(() => void this.stopSimulation(id, 'completed'), simulation.spec.durationMs),
      );
    }
    const plan = simulation.plan();
    let started = 0;
    let issued = 0;
    let failure: string | undefined;
    // Up to RAMP_WINDOW spawns under way at once: a spawn waits for the launcher's answer, and one at a
    // time would leave the launcher idle for a round trip per process. After a refusal no more are
    // asked for; those under way still count when they start.
    const underWay = new Set<Promise<void>>();
    for (const planned of plan) {
      if (!simulation.isActive || this.#closed || failure !== undefined) break;
      const one: Promise<void> = this.#spawn(simulation, planned, 0).then(
        () => {
          started++;
          underWay.delete(one);
        },
        (error: unknown) => {
          failure ??= (error as Error)?.message ?? String(error);
          underWay.delete(one);
        },
      );
      underWay.add(one);
      issued++;
      if (underWay.size >= RAMP_WINDOW) await Promise.race(underWay);
      if (issued % this.#rampBatch === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(underWay);
    if (failure !== undefined) {
      const reason = failure;
      simulation.rampWarning = `ramp stopped after ${started} of ${plan.length} processes: ${reason}`;
      this.events.emit({ type: 'RampStopped', simulationId: id, started, planned: plan.length, reason });
      if (started === 0 && simulation.isActive) {
        simulation.failureReason = reason;
        await this.stopSimulation(id, 'failed');
        return simulation;
      }
    }
    if (simulation.state === 'starting') {
      simulation.state = 'running';
      if (simulation.spec.chaos) this.#startRandomChaos(simulation);
    }
    return simulation;
  }

  /**
   * Stops every process of the simulation (SIGTERM, then SIGKILL after the grace period) and waits for
   * all of them to be reaped, spawns under way included. `final` is the state it ends in. Every caller
   * gets the same stop; stopping an ended or never started simulation changes nothing.
   */
  stopSimulation(id: string, final: 'stopped' | 'completed' | 'failed' = 'stopped'): Promise<Simulation> {
    const simulation = this.getSimulation(id);
    if (!simulation.isActive) return simulation.stopping ?? Promise.resolve(simulation);
    simulation.state = 'stopping';
    simulation.stopping = this.#stop(simulation, final);
    return simulation.stopping;
  }

  async #stop(simulation: Simulation, final: 'stopped' | 'completed' | 'failed'): Promise<Simulation> {
    for (const timer of simulation.timers) clearTimeout(timer);
    simulation.timers.clear();
    // A spawn under way lands after this point; wait for it so that it is stopped too.
    while (simulation.spawning.size > 0) await Promise.allSettled([...simulation.spawning]);
    const exits: Array<Promise<unknown>> = [];
    for (const process of [...simulation.processes.values()]) {
      this.#processes.terminate(process, 'stopped');
      exits.push(process.child.exited);
      // Each end is preceded by the observer's last reading of the process: yield now and then, so that
      // stopping 10,000 processes does not hold the event loop for all of it.
      if (exits.length % STOP_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(exits);
    this.#faults.endAllOf(simulation.id);
    simulation.end(final);
    const name = simulation.spec.name;
    if (final === 'failed') {
      this.events.emit({
        type: 'SimulationFailed',
        simulationId: simulation.id,
        name,
        reason: simulation.failureReason ?? 'unknown',
      });
    } else {
      this.events.emit({
        type: final === 'completed' ? 'SimulationCompleted' : 'SimulationStopped',
        simulationId: simulation.id,
        name,
      });
    }
    return simulation;
  }

  /**
   * Forgets a simulation that is not running.
   * @throws EngineError conflict while it runs or stops
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
    if (simulation.startTimer) clearTimeout(simulation.startTimer);
    this.#simulations.delete(id);
  }

  // ---- processes ---------------------------------------------------------------------------------

  /** Every live simulated process (all simulations). */
  liveProcesses(): ProcessInfo[] {
    return [...this.#processes.values()].map(toProcessInfo);
  }

  /** Number of live simulated processes. */
  get liveCount(): number {
    return this.#processes.size;
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
    return this.#processes.get(pid) !== undefined;
  }

  /** The live process `pid`, or undefined when it is not a live child of this engine. */
  processInfo(pid: number): ProcessInfo | undefined {
    const process = this.#processes.get(pid);
    return process && toProcessInfo(process);
  }

  /**
   * Lets `observer` look at every process right after it started and right before the engine ends it
   * (the sampler: a first reading within a second, a last one before the signal). One observer.
   */
  watch(observer: ProcessObserver): void {
    this.#processes.observer = observer;
  }

  /**
   * Records that the sampler read `pid` at `readAtMs` (`final`: right before the engine ended it): the
   * ground truth of which processes an observer of the simulator's own metrics could have seen.
   */
  recordSampled(pid: number, readAtMs: number, final: boolean): void {
    const sampling = this.#processes.get(pid)?.sampling;
    if (!sampling) return;
    sampling.samples++;
    sampling.firstAtMs ??= readAtMs;
    sampling.lastAtMs = readAtMs;
    if (final) sampling.final = true;
  }

  /**
   * The ground truth of a live process: what a correct observer reads of it, and what the sampler read.
   * Undefined when `pid` is not a live child of this engine.
   */
  groundTruthOf(pid: number): { expected: ExpectedProcess; sampling: Readonly<SamplingRecord> } | undefined {
    const process = this.#processes.get(pid);
    return process && { expected: expectedOf(process), sampling: { ...process.sampling } };
  }

  processesOf(simulationId: string): ProcessInfo[] {
    return [...this.getSimulation(simulationId).processes.values()].map(toProcessInfo);
  }

  // ---- faults ------------------------------------------------------------------------------------

  /**
   * Live processes of this engine whose name matches `pattern` (`*` and `?` wildcards, matched in
   * bounded time, see glob.ts), optionally in one simulation. Critical processes are included only when
   * `includeCritical` is set or the pattern names them exactly (no wildcard).
   */
  selectProcesses(
    pattern: string,
    options: { simulationId?: string; includeCritical?: boolean } = {},
  ): ProcessInfo[] {
    const exact = isExactPattern(pattern);
    const matches = compileGlob(pattern);
    const selected: ProcessInfo[] = [];
    for (const process of this.#processes.values()) {
      if (options.simulationId !== undefined && process.simulationId !== options.simulationId) continue;
      // one already being ended is no target: a kill would only relabel why it exits
      if (process.stopReason !== undefined) continue;
      if (process.priority === 'critical' && !options.includeCritical && !exact) continue;
      if (matches(process.name)) selected.push(toProcessInfo(process));
    }
    return selected;
  }

  /**
   * Starts a CPU spike or memory leak on the given PIDs (which must be this engine's live children).
   * @throws EngineError invalid when a PID is not one of ours; limit_exceeded when the spike's CPU or the
   *   leak's memory does not fit beside what runs
   */
  injectFault(request: FaultRequest & { allowCpuOvercommit?: boolean }): Fault {
    this.#assertOpen();
    const processes = [...request.pids].map((pid) => this.#ownedProcess(pid));
    const durationMs = request.durationMs;
    if (request.kind === 'memory-leak') {
      const bytes = ((request.leakBytesPerSecond ?? 0) * durationMs * processes.length) / 1000;
      this.#admit(`the memory leak of ${processes.length} processes`, { ...NO_DEMAND, memoryBytes: bytes });
    } else if (request.kind === 'cpu-spike') {
      const percent = (request.intensityPercent ?? 0) * processes.length;
      this.#admit(
        `the CPU spike of ${processes.length} processes`,
        { ...NO_DEMAND, cpuPercent: percent },
        {
          allowCpuOvercommit: request.allowCpuOvercommit,
        },
      );
    }
    const now = Date.now();
    const { durationMs: _duration, allowCpuOvercommit: _overcommit, ...fault } = request;
    const full: Fault = { ...fault, id: randomUUID(), startedAtMs: now, endsAtMs: now + durationMs };
    this.#faults.start(full);
    this.#loop.retarget(processes, now);
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
    this.#assertOpen();
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
    this.#faults.record(fault);
    for (const process of processes) this.#processes.terminate(process, 'killed', signal);
    this.#faults.instantEnded(fault);
    return fault;
  }

  activeFaults(): Fault[] {
    return this.#faults.active.list();
  }

  /**
   * Ends a fault now; its processes return to their pattern at once.
   * @throws EngineError not_found when no such fault is active (it ended or never was)
   */
  recoverFault(id: string): Fault {
    const fault = this.#faults.end(id);
    if (!fault) throw new EngineError('not_found', `no active fault with id ${JSON.stringify(id)}`, { id });
    const processes = [...fault.pids].map((pid) => this.#processes.get(pid));
    this.#loop.retarget(
      processes.filter((process): process is ManagedProcess => process !== undefined),
      Date.now(),
    );
    return fault;
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /**
   * Stops every simulation (starting ones too), waits until every child is reaped, removes the runtime
   * files. Idempotent; safe to call at any moment, also while a ramp runs.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#closed = true;
      clearInterval(this.#controlTimer);
      await Promise.allSettled(
        this.listSimulations().map((simulation) => this.stopSimulation(simulation.id)),
      );
      // Anything still alive (should be nothing) is killed outright.
      await this.#processes.killAll();
      await this.#processes.close();
      this.#removeRuntime();
    })();
    return this.#shutdown;
  }

  // ---- internals ---------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new EngineError('conflict', 'the engine is shutting down');
  }

  #ownedProcess(pid: number): ManagedProcess {
    const process = this.#processes.get(pid);
    if (!process)
      throw new EngineError('invalid', `process ${pid} is not a live simulated process of this simulator`, {
        pid,
      });
    return process;
  }

  #admit(
    what: string,
    demand: Demand,
    extra: { allowCpuOvercommit?: boolean | undefined } = {},
    simulation?: Simulation,
  ): void {
    admit(
      what,
      demand,
      ledgerOf(this.#simulations.values(), this.#processes.values(), this.#faults.active),
      readMachineLimits(),
      {
        maxProcesses: this.maxProcesses,
        allowCpuOvercommit: this.allowCpuOvercommit || extra.allowCpuOvercommit === true,
      },
      simulation?.spec.profile,
    );
  }

  #admitSimulation(simulation: Simulation): void {
    this.#admit(
      `simulation "${simulation.spec.name}"`,
      simulation.demand,
      {
        allowCpuOvercommit: simulation.spec.allowCpuOvercommit,
      },
      simulation,
    );
  }

  /** Spawns one generation of a planned process; tracked so that a stop waits for it. */
  #spawn(simulation: Simulation, planned: PlannedProcess, generation: number): Promise<ManagedProcess> {
    const seedKey = processSeedKey(simulation.spec.seed, planned.templateIndex, planned.index, generation);
    const spawning = this.#processes.spawn(
      {
        simulationId: simulation.id,
        profile: simulation.spec.profile.name,
        shard: simulation.shard.count > 1 ? simulation.shard.index : undefined,
        planned,
        generation,
        seedKey,
        targets: targetsAt(planned.template, patternSeeds(seedKey), 0, this.#controlIntervalMs),
        lifetimeMs: lifetimeOf(planned.template, seedKey),
      },
      this.#exitListenerOf(simulation),
    );
    const tracked = spawning.then((process) => {
      simulation.recordStart(process);
      this.events.emit({
        type: 'ProcessStarted',
        simulationId: simulation.id,
        pid: process.pid,
        name: process.name,
        priority: process.priority,
        generation,
      });
      // The simulation was stopped (or the engine shut down) while this spawn was under way.
      if (!simulation.isActive || this.#closed) this.#processes.terminate(process, 'stopped');
      else this.#started(process);
      return process;
    });
    simulation.spawning.add(tracked);
    void tracked.then(
      () => simulation.spawning.delete(tracked),
      () => simulation.spawning.delete(tracked),
    );
    return tracked;
  }

  #exitListenerOf(simulation: Simulation): ExitListener {
    let listener = this.#exitListeners.get(simulation);
    if (listener === undefined) {
      listener = (process, exitCode, signal) => this.#onExit(simulation, process, exitCode, signal);
      this.#exitListeners.set(simulation, listener);
    }
    return listener;
  }

  /** Tells the observer about a new process; its failure never fails the spawn. */
  #started(process: ManagedProcess): void {
    try {
      this.#processes.observer?.started(process);
    } catch (error) {
      this.#warn('the process observer failed', { pid: process.pid, error: (error as Error).message });
    }
  }

  #onExit(
    simulation: Simulation,
    process: ManagedProcess,
    exitCode: number | undefined,
    signal: string | undefined,
  ): void {
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
    const timer = startTimer(() => {
      simulation.timers.delete(timer);
      if (!simulation.isActive || this.#closed) return;
      this.#spawn(simulation, process.planned, process.generation + 1).catch((error: Error) => {
        simulation.rampWarning = `a replacement of ${process.name} could not start: ${error.message}`;
      });
    }, delay);
    simulation.timers.add(timer);
  }

  #startRandomChaos(simulation: Simulation): void {
    startRandomChaos(
      simulation,
      {
        kill: (pid, simulationId) => this.killProcesses([pid], 'SIGKILL', 'random', simulationId),
        inject: (request) =>
          this.injectFault({ ...request, allowCpuOvercommit: simulation.spec.allowCpuOvercommit }),
        refused: (target, kind, reason) => {
          target.chaosRefused++;
          this.events.emit({ type: 'ChaosRefused', simulationId: target.id, kind, reason });
        },
      },
      this.#chaosIntervalMs,
    );
  }
}

export { PRIORITIES };

/**
 * The launcher (see launcher-spawner.ts) when it is built and the worker is native; otherwise the
 * engine forks each child itself (the Node fallback worker checks its parent by PID too, but it only
 * runs where nothing could be compiled, so neither is the launcher).
 */
function defaultSpawner(worker: WorkerProgram): Spawner {
  return worker.kind === 'native' && launcherAvailable() ? createLauncherSpawner() : createNodeSpawner();
}
