/**
 * The live simulated processes: spawning one (control slot, executable link, child), telling it new
 * targets, ending it (process-group signal, SIGKILL after a grace period) and forgetting it once it
 * was reaped. Signals only ever go to a child this registry spawned and has not yet seen reaped, so a
 * recycled PID can never be hit.
 */
import type { PlannedProcess } from '../profiles/plan.ts';
import { expandName } from '../profiles/schema.ts';
import { ControlTable, type SlotTargets } from '../workload/control-table.ts';
import type { WorkerProgram } from '../workload/worker-path.ts';
import type { ExitReason } from './events.ts';
import type { ManagedProcess } from './managed-process.ts';
import { paddedArgs, quirkEnv } from './quirks.ts';
import type { RuntimeDir } from './runtime-dir.ts';
import { SpawnError, type Spawner } from './spawner.ts';
import { patternSeeds } from './targets.ts';
import { startTimer } from './timers.ts';

/**
 * Told about a process's start and, synchronously, right before the signal that ends it (a last look
 * at its counters); a crash, which the engine does not cause, is never announced. Must not throw.
 */
export interface ProcessObserver {
  started(process: ManagedProcess): void;
  ending(process: ManagedProcess): void;
}

export interface ProcessRegistryOptions {
  worker: WorkerProgram;
  runtime: RuntimeDir;
  spawner: Spawner;
  /** control slots: the most processes alive at once */
  capacity: number;
  /** time between SIGTERM and SIGKILL when ending a process */
  stopGraceMs: number;
}

/** What a spawn needs beyond the plan: where the process belongs and what it holds at start. */
export interface SpawnSpec {
  simulationId: string;
  profile: string;
  /** shard index of a sharded run */
  shard: number | undefined;
  planned: PlannedProcess;
  generation: number;
  seedKey: string;
  targets: SlotTargets;
  lifetimeMs: number | undefined;
}

/** The native worker takes the template's arguments right after argv[0]. */
const NO_PREFIX: readonly string[] = [];

export class ProcessRegistry {
  readonly #live = new Map<number, ManagedProcess>();
  /**
   * The live processes whose targets move with time (a pattern other than steady) or that have a
   * lifetime: the ones the control tick visits every second. A steady process holds the targets it
   * was spawned with until a fault changes them, so at 10,000 mostly steady processes the tick no
   * longer reads every one of them (it was 2.6 % of a core on a machine where memory left alone for a
   * second is slow to read again).
   */
  readonly #timed = new Map<number, ManagedProcess>();
  /** processes whose slot changed before they could take a signal (see retarget) */
  readonly #unwoken = new Set<ManagedProcess>();
  readonly #table: ControlTable;
  readonly #options: ProcessRegistryOptions;
  /** who looks at processes as they start and end (the sampler); set once wired */
  observer: ProcessObserver | undefined;

  constructor(options: ProcessRegistryOptions) {
    this.#options = options;
    this.#table = ControlTable.create(options.runtime.controlFile, options.capacity);
  }

  get size(): number {
    return this.#live.size;
  }

  get(pid: number): ManagedProcess | undefined {
    return this.#live.get(pid);
  }

  values(): IterableIterator<ManagedProcess> {
    return this.#live.values();
  }

  /** The live processes whose targets move with time or that have a lifetime (see #timed). */
  timed(): IterableIterator<ManagedProcess> {
    return this.#timed.values();
  }

  isTimed(process: ManagedProcess): boolean {
    return this.#timed.get(process.pid) === process;
  }

  /** The processes waiting for the wake their young age put off (see retarget). */
  unwoken(): IterableIterator<ManagedProcess> {
    return this.#unwoken.values();
  }

  /**
   * Starts one process. Resolves once the child runs (registered here); `onExit` is called once it has
   * exited and been reaped, after it left the registry.
   * @throws SpawnError when the OS refuses the process (nothing is left behind)
   */
  async spawn(
    spec: SpawnSpec,
    onExit: (process: ManagedProcess, exitCode: number | undefined, signal: string | undefined) => void,
  ): Promise<ManagedProcess> {
    const { template } = spec.planned;
    const name = expandName(template.name, spec.planned.index, spec.generation);
    const native = this.#options.worker.kind === 'native';
    const args = paddedArgs(name, template.args, template.quirks?.command_line_bytes);
    const slot = this.#table.allocate();
    const argvPrefix = native ? NO_PREFIX : [this.#options.worker.path];
    let linked = false;
    let executable: string;
    let child: Awaited<ReturnType<Spawner['spawn']>>;
    try {
      this.#table.write(slot, spec.targets);
      executable = native ? this.#options.runtime.executableFor(name) : process.execPath;
      linked = native;
      const parentPid = this.#options.spawner.parentPid?.() ?? process.pid;
      child = await this.#options.spawner.spawn({
        executable,
        argv0: name,
        args: [...argvPrefix, ...args],
        env: {
          PSIM_CONTROL_FILE: this.#options.runtime.controlFile,
          PSIM_SLOT: String(slot),
          PSIM_PARENT_PID: String(parentPid),
          PSIM_NAME: name,
          ...quirkEnv(template.quirks),
        },
      });
    } catch (error) {
      this.#table.release(slot);
      if (linked) this.#options.runtime.release(name);
      if (error instanceof SpawnError) throw error;
      throw new SpawnError('UNKNOWN', `cannot start ${name}: ${(error as Error).message}`, { cause: error });
    }
    const startedAtMs = Date.now();
    const managed: ManagedProcess = {
      pid: child.pid,
      name,
      simulationId: spec.simulationId,
      profile: spec.profile,
      shard: spec.shard,
      planned: spec.planned,
      template,
      priority: template.priority,
      generation: spec.generation,
      seedKey: spec.seedKey,
      patternSeeds: patternSeeds(spec.seedKey),
      slot,
      executable,
      argvPrefix,
      startedAtMs,
      deadlineMs: spec.lifetimeMs === undefined ? undefined : startedAtMs + spec.lifetimeMs,
      child,
      stopReason: undefined,
      targets: spec.targets,
      sampling: { samples: 0, firstAtMs: undefined, lastAtMs: undefined, final: false },
    };
    this.#live.set(child.pid, managed);
    if (
      template.cpu.pattern !== 'steady' ||
      template.memory.pattern !== 'steady' ||
      managed.deadlineMs !== undefined
    )
      this.#timed.set(child.pid, managed);
    // A lifetime ends on its own timer, to the millisecond: processes living under the control tick's
    // second (the short jobs that break observers) end when they should. The tick checks deadlines too.
    const lifetime =
      spec.lifetimeMs === undefined
        ? undefined
        : startTimer(() => this.terminate(managed, 'lifetime'), spec.lifetimeMs);
    child.onExit((exit) => {
      if (lifetime) clearTimeout(lifetime);
      this.#live.delete(managed.pid);
      if (this.#timed.get(managed.pid) === managed) this.#timed.delete(managed.pid);
      this.#unwoken.delete(managed);
      this.#table.release(managed.slot);
      if (native) this.#options.runtime.release(managed.name);
      onExit(managed, exit.exitCode, exit.signal);
    });
    return managed;
  }

  /**
   * Writes new targets to the process's slot and wakes it, only when they changed (an idle steady
   * process is never woken). A native worker blocks SIGUSR1 in its first microseconds; until then the
   * signal would kill it, so a process younger than 100 ms is only written: it reads its slot at start.
   * The Node fallback worker is never signalled: it installs its handler only after loading (tens to
   * hundreds of milliseconds, more under load) and reads its slot at every 100 ms tick anyway.
   */
  retarget(process: ManagedProcess, targets: SlotTargets, nowMs: number): void {
    const old = process.targets;
    if (
      targets.cpuPermille === old.cpuPermille &&
      targets.rssKiB === old.rssKiB &&
      targets.threads === old.threads &&
      targets.fds === old.fds
    ) {
      return;
    }
    this.#table.write(process.slot, targets);
    // A copy: the control loop works its targets out in one object that it reuses.
    process.targets = { ...targets };
    if (this.#options.worker.kind === 'node') return;
    if (nowMs - process.startedAtMs >= 100) process.child.signal('SIGUSR1');
    else {
      process.pendingWake = true;
      this.#unwoken.add(process);
    }
  }

  /** Wakes a young process whose slot changed before it could take a signal. */
  wakeIfPending(process: ManagedProcess, nowMs: number): void {
    if (process.stopReason) {
      // it is being ended: no new targets to read
      this.#unwoken.delete(process);
      return;
    }
    if (process.pendingWake && nowMs - process.startedAtMs >= 100) {
      process.pendingWake = false;
      this.#unwoken.delete(process);
      process.child.signal('SIGUSR1');
    }
  }

  /**
   * Asks a process to end (process-group signal) and escalates to SIGKILL after the grace period. A
   * stopped process (state T) keeps SIGTERM pending until it runs again, so SIGCONT follows, as init
   * systems do; it changes nothing for a running process.
   */
  terminate(process: ManagedProcess, reason: ExitReason, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (process.stopReason === undefined && process.child.isAlive()) this.#ending(process);
    process.stopReason ??= reason;
    if (!process.child.signalGroup(signal)) return;
    if (signal === 'SIGKILL') return;
    process.child.signalGroup('SIGCONT');
    const escalate = startTimer(() => process.child.signalGroup('SIGKILL'), this.#options.stopGraceMs);
    void process.child.exited.then(() => clearTimeout(escalate));
  }

  /** Kills every live process outright and waits until each one was reaped. */
  async killAll(): Promise<void> {
    await Promise.all(
      [...this.#live.values()].map((process) => {
        if (process.stopReason === undefined && process.child.isAlive()) this.#ending(process);
        process.stopReason ??= 'stopped';
        process.child.signalGroup('SIGKILL');
        return process.child.exited;
      }),
    );
  }

  /** The observer's last look; its failure never stops the process from being ended. */
  #ending(process: ManagedProcess): void {
    try {
      this.observer?.ending(process);
    } catch {
      // the observer reports its own failures
    }
  }

  /** Closes the control file (running workers keep their mapping). */
  /** Ends the spawner's own helpers (the launcher) and unmaps the control file; after killAll(). */
  async close(): Promise<void> {
    try {
      await this.#options.spawner.close?.();
    } finally {
      this.#table.close();
    }
  }
}
