/**
 * The control tick visits only the processes whose targets can change (patterns that move with time,
 * lifetimes, faults, wakes put off). Whatever it skips, after every tick each live process's slot must
 * hold what visiting every process would write: its pattern's targets at that tick plus its active
 * faults. Checked over generated fleets, fault starts and ends, recoveries, exits and uneven ticks,
 * with the registry's real control file and a spawner that only hands out children.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ControlLoop } from '../../src/engine/control-loop.ts';
import { EventBus } from '../../src/engine/events.ts';
import { FaultBook } from '../../src/engine/fault-book.ts';
import type { Fault } from '../../src/engine/faults.ts';
import type { ManagedProcess } from '../../src/engine/managed-process.ts';
import { ProcessRegistry } from '../../src/engine/processes.ts';
import type { ChildExit, SpawnedChild, Spawner } from '../../src/engine/spawner.ts';
import { targetsAt } from '../../src/engine/targets.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import { SLOT_BYTES } from '../../src/workload/control-table.ts';

const SPAN_MS = 1000;

/** A slot's CPU, RSS, threads and fds as the worker reads them from the control file (worker.c's layout). */
function slotOf(file: string, slot: number): number[] {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SLOT_BYTES);
    readSync(fd, buf, 0, SLOT_BYTES, slot * SLOT_BYTES);
    return [4, 8, 12, 16].map((offset) => buf.readUInt32LE(offset));
  } finally {
    closeSync(fd);
  }
}

/** A child that lives until the test ends it; signals are recorded, never sent. */
class PaperChild implements SpawnedChild {
  readonly exited: Promise<ChildExit>;
  readonly signals: string[] = [];
  #alive = true;
  #end!: (exit: ChildExit) => void;
  readonly pid: number;
  constructor(pid: number) {
    this.pid = pid;
    this.exited = new Promise((resolve) => {
      this.#end = resolve;
    });
  }
  onExit(listener: (exit: ChildExit) => void) {
    void this.exited.then(listener);
  }
  isAlive() {
    return this.#alive;
  }
  signalGroup(signal: NodeJS.Signals) {
    this.signals.push(`group:${signal}`);
    return this.#alive;
  }
  signal(signal: NodeJS.Signals) {
    this.signals.push(signal);
    return this.#alive;
  }
  exit() {
    this.#alive = false;
    this.#end({ exitCode: 0, signal: undefined });
  }
}

const steady = fc.record({ pattern: fc.constant('steady'), value: fc.integer({ min: 0, max: 90 }) });
const ms = (n: number) => `${n}ms`;
const moving = fc.oneof(
  fc
    .record({
      base: fc.integer({ min: 0, max: 20 }),
      peak: fc.integer({ min: 0, max: 90 }),
      every: fc.integer({ min: 1, max: 8000 }),
      share: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ base, peak, every, share }) => ({
      pattern: 'spiky',
      base,
      peak,
      every: ms(every),
      for: ms(Math.floor(share * every)),
    })),
  fc
    .record({
      start: fc.integer({ min: 0, max: 50 }),
      more: fc.integer({ min: 0, max: 50 }),
      rate: fc.nat(600),
    })
    .map(({ start, more, rate }) => ({ pattern: 'growing', start, max: start + more, per_minute: rate })),
  fc
    .record({
      min: fc.integer({ min: 0, max: 20 }),
      more: fc.nat(70),
      every: fc.integer({ min: 1, max: 5000 }),
    })
    .map(({ min, more, every }) => ({ pattern: 'random', min, max: min + more, every: ms(every) })),
  fc
    .record({
      every: fc.integer({ min: 1, max: 3000 }),
      values: fc.array(fc.integer({ min: 0, max: 90 }), { minLength: 1, maxLength: 8 }),
      repeat: fc.boolean(),
    })
    .map(({ every, ...rest }) => ({ pattern: 'replay', every: ms(every), ...rest })),
);
/** Mostly steady, as the fleets that have the most processes are. */
const pattern = fc.oneof({ arbitrary: steady, weight: 3 }, { arbitrary: moving, weight: 1 });

const templates = fc.array(
  fc.record({
    cpu: pattern,
    memory: pattern,
    threads: fc.integer({ min: 1, max: 8 }),
    fds: fc.integer({ min: 3, max: 20 }),
    // in the test's time: the tick ends it (the registry's own timer is hours away in real time)
    lifetimeMs: fc.option(fc.integer({ min: 500, max: 30_000 }), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 12 },
);

/** What the test does between two ticks. */
const step = fc.record({
  gapMs: fc.integer({ min: 950, max: 1100 }),
  fault: fc.option(
    fc.record({
      kind: fc.constantFrom('cpu-spike' as const, 'memory-leak' as const),
      pick: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      durationMs: fc.integer({ min: 0, max: 6000 }),
      amount: fc.integer({ min: 1, max: 100 }),
    }),
    { nil: undefined },
  ),
  recover: fc.option(fc.nat(), { nil: undefined }),
  exit: fc.option(fc.nat(), { nil: undefined }),
});

test('after every tick each process holds its pattern and its faults, though the tick visits only the processes that can change', async () => {
  await fc.assert(
    fc.asyncProperty(templates, fc.array(step, { minLength: 1, maxLength: 25 }), async (specs, steps) => {
      const dir = mkdtempSync(join(tmpdir(), 'psim-control-loop-'));
      const children = new Map<number, PaperChild>();
      let nextPid = 1000;
      const spawner: Spawner = {
        spawn: async () => {
          const child = new PaperChild(nextPid++);
          children.set(child.pid, child);
          return child;
        },
      };
      const registry = new ProcessRegistry({
        worker: { kind: 'native', path: '/nonexistent/worker' },
        runtime: {
          path: dir,
          controlFile: join(dir, 'control'),
          executableFor: () => '/nonexistent/worker',
          release: () => {},
          remove: () => {},
        },
        spawner,
        capacity: 64,
        stopGraceMs: 3_600_000,
      });
      const faults = new FaultBook({
        processes: registry,
        simulations: () => [],
        simulation: () => undefined,
        events: new EventBus(),
      });
      const loop = new ControlLoop({ processes: registry, faults, warn: () => {}, intervalMs: SPAN_MS });
      try {
        const profile = validateProfile({
          name: 'fleet',
          templates: specs.map(({ lifetimeMs: _, ...spec }, i) => ({
            name: `t${i}`,
            count: 1,
            priority: 'low',
            ...spec,
          })),
        });
        const processes: ManagedProcess[] = [];
        for (const [i, template] of profile.templates.entries()) {
          const seedKey = `seed/${i}`;
          const seeds = { cpu: `${seedKey}/cpu`, memory: `${seedKey}/memory` };
          const lifetimeMs = specs[i]?.lifetimeMs;
          processes.push(
            await registry.spawn(
              {
                simulationId: 'sim',
                profile: 'fleet',
                shard: undefined,
                planned: { templateIndex: i, index: 1, template, priority: 'low', name: template.name },
                generation: 0,
                seedKey,
                targets: targetsAt(template, seeds, 0, SPAN_MS),
                // the registry's own timer must not fire while the test runs: the tick's backstop ends it
                lifetimeMs: lifetimeMs === undefined ? undefined : 3_600_000,
              },
              () => {},
            ),
          );
          if (lifetimeMs !== undefined)
            // the deadline the test's clock reaches (the field is the registry's; set as its timer would be)
            (processes.at(-1) as { deadlineMs: number | undefined }).deadlineMs =
              (processes.at(-1) as ManagedProcess).startedAtMs + lifetimeMs;
        }
        const start = Math.max(...processes.map((p) => p.startedAtMs));
        let now = start;
        let faultId = 0;
        for (const [i, { gapMs, fault, recover, exit }] of steps.entries()) {
          const live = [...registry.values()];
          if (fault && live.length > 0) {
            const pids = new Set(fault.pick.map((k) => (live[k % live.length] as ManagedProcess).pid));
            const started: Fault = {
              id: `f${faultId++}`,
              kind: fault.kind,
              simulationId: 'sim',
              pids,
              startedAtMs: now,
              endsAtMs: now + fault.durationMs,
              ...(fault.kind === 'cpu-spike'
                ? { intensityPercent: fault.amount }
                : { leakBytesPerSecond: fault.amount * 2 ** 20 }),
              origin: 'api',
            };
            faults.start(started);
            // as the engine does when a fault starts
            loop.retarget(
              [...pids].map((pid) => registry.get(pid) as ManagedProcess),
              now,
            );
          }
          const active = faults.active.list();
          if (recover !== undefined && active.length > 0) {
            // as the engine's recoverFault does
            // the newest first: a fault started and recovered while its processes are young puts their wake off
            const ended = faults.end(
              (active[active.length - 1 - (recover % active.length)] as Fault).id,
            ) as Fault;
            loop.retarget(
              [...ended.pids].flatMap((pid) => registry.get(pid) ?? []),
              now,
            );
          }
          if (exit !== undefined && live.length > 0) {
            const leaving = live[exit % live.length] as ManagedProcess;
            children.get(leaving.pid)?.exit();
            await leaving.child.exited;
            await new Promise((resolve) => setImmediate(resolve));
          }
          now += gapMs;
          loop.tick(now);
          for (const process of registry.values()) {
            // a lifetime past its deadline is ended by the tick (the backstop to its own timer)
            if (process.deadlineMs !== undefined && now >= process.deadlineMs)
              assert.equal(
                process.stopReason,
                'lifetime',
                `step ${i}: ${process.name} outlived its deadline`,
              );
            if (process.stopReason) continue;
            // a wake put off because the process was young comes with the next tick
            assert.ok(!process.pendingWake, `step ${i}: ${process.name} still waits for its wake`);
            const expected = faults.active.apply(
              process.pid,
              targetsAt(process.template, process.patternSeeds, now - process.startedAtMs, SPAN_MS),
              now,
            );
            assert.deepEqual(
              slotOf(join(dir, 'control'), process.slot),
              [expected.cpuPermille, expected.rssKiB, expected.threads, expected.fds],
              `step ${i}: ${process.name} (${process.template.cpu.pattern}/${process.template.memory.pattern}) at ${now - start} ms`,
            );
          }
        }
      } finally {
        for (const child of children.values()) child.exit();
        await registry.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 150 },
  );
});
