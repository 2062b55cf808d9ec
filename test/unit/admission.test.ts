/**
 * The door: a demand is admitted exactly when it fits beside what already runs, for generated ledgers,
 * machines and demands, and every refusal names the limit, its value and what was asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { admit, HEADROOM, type Ledger } from '../../src/engine/admission.ts';
import { EngineError } from '../../src/engine/errors.ts';
import type { MachineLimits } from '../../src/engine/limits.ts';
import type { Demand } from '../../src/profiles/demand.ts';
import { validateProfile } from '../../src/profiles/load.ts';

const GiB = 2 ** 30;

const machines: fc.Arbitrary<MachineLimits> = fc.record({
  pidMax: fc.integer({ min: 1000, max: 4_194_304 }),
  maxUserProcesses: fc.oneof(fc.integer({ min: 1000, max: 200_000 }), fc.constant(Number.POSITIVE_INFINITY)),
  memAvailableBytes: fc.integer({ min: 1, max: 64 }).map((g) => g * GiB),
  maxOpenFiles: fc.constant(1024),
  maxOpenFilesHard: fc.integer({ min: 1024, max: 1_048_576 }),
  fileMax: fc.integer({ min: 10_000, max: 10_000_000 }),
  filesInUse: fc.integer({ min: 0, max: 5000 }),
  cpus: fc.constantFrom(1, 2, 4, 0.5, 1.5),
  tasks: fc.integer({ min: 0, max: 1000 }),
  // A container's cgroup: often no limit, sometimes one far below the node's.
  cgroupMemoryBytes: fc.oneof(
    fc.constant(Number.POSITIVE_INFINITY),
    fc.integer({ min: 0, max: 32 }).map((g) => g * GiB),
  ),
  cgroupTasks: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 50_000 })),
});

const ledgers: fc.Arbitrary<Ledger> = fc.record({
  processes: fc.integer({ min: 0, max: 10_000 }),
  pendingThreads: fc.integer({ min: 0, max: 20_000 }),
  pendingFds: fc.integer({ min: 0, max: 100_000 }),
  memoryBytes: fc.integer({ min: 0, max: 32 }).map((g) => g * GiB),
  heldMemoryBytes: fc.integer({ min: 0, max: 8 }).map((g) => g * GiB),
  cpuPercent: fc.integer({ min: 0, max: 400 }),
});

const demands: fc.Arbitrary<Demand> = fc.record({
  processes: fc.integer({ min: 0, max: 10_000 }),
  threads: fc.integer({ min: 0, max: 100_000 }),
  fds: fc.integer({ min: 0, max: 1_000_000 }),
  memoryBytes: fc.integer({ min: 0, max: 64 }).map((g) => g * GiB),
  cpuPercent: fc.integer({ min: 0, max: 400 }),
});

/** The limit a demand breaks, computed independently of admit(), or undefined when it fits. */
function expectedRefusal(d: Demand, l: Ledger, m: MachineLimits, maxProcesses: number, overcommit: boolean) {
  if (d.processes > 0 && l.processes + d.processes > maxProcesses) return 'MAX_PROCESSES';
  const tasks = m.tasks + l.pendingThreads + d.threads;
  if (d.threads > 0 && tasks > m.pidMax * HEADROOM.tasks) return 'pid_max';
  if (d.threads > 0 && tasks > m.maxUserProcesses * HEADROOM.tasks) return 'ulimit -u';
  if (d.threads > 0 && l.pendingThreads + d.threads > m.cgroupTasks * HEADROOM.tasks) return 'pids.max';
  if (d.fds > 0 && m.filesInUse + l.pendingFds + d.fds > m.fileMax * HEADROOM.files) return 'fs.file-max';
  const inCgroup = m.cgroupMemoryBytes < m.memAvailableBytes;
  const available = Math.min(m.cgroupMemoryBytes, m.memAvailableBytes);
  if (d.memoryBytes > 0 && l.memoryBytes + d.memoryBytes > (available + l.heldMemoryBytes) * HEADROOM.memory)
    return inCgroup ? 'memory.max' : 'MemAvailable';
  if (!overcommit && d.cpuPercent > 0 && l.cpuPercent + d.cpuPercent > m.cpus * 100 * HEADROOM.cpu)
    return 'CPUs';
  return undefined;
}

test('admits exactly what fits beside the ledger, and names the first limit it breaks', () => {
  fc.assert(
    fc.property(
      demands,
      ledgers,
      machines,
      fc.integer({ min: 1, max: 20_000 }),
      fc.boolean(),
      (demand, ledger, machine, maxProcesses, overcommit) => {
        const expected = expectedRefusal(demand, ledger, machine, maxProcesses, overcommit);
        try {
          admit('the run', demand, ledger, machine, { maxProcesses, allowCpuOvercommit: overcommit });
          assert.equal(expected, undefined, `admitted although it breaks ${expected}`);
        } catch (error) {
          assert.ok(error instanceof EngineError, String(error));
          assert.equal(error.code, 'limit_exceeded');
          assert.equal(error.details.limit, expected);
          // The message names the limit and its value; the details carry the amount asked for.
          assert.ok(error.message.includes(String(expected).replace('CPUs', 'CPUs')), error.message);
          assert.equal(typeof error.details.requested, 'number');
        }
      },
    ),
    { numRuns: 20_000 },
  );
});

test('a template holding more fds than a process may open is refused, naming the field', () => {
  const profile = validateProfile({
    name: 'fds',
    templates: [
      { name: 'small', count: 1, priority: 'low', fds: 10 },
      { name: 'big', count: 2, priority: 'low', fds: 30_000 },
    ],
  });
  const machine: MachineLimits = {
    pidMax: 32_768,
    maxUserProcesses: Number.POSITIVE_INFINITY,
    memAvailableBytes: 8 * GiB,
    maxOpenFiles: 1024,
    maxOpenFilesHard: 20_000,
    fileMax: 10_000_000,
    filesInUse: 100,
    cpus: 2,
    tasks: 100,
    cgroupMemoryBytes: Number.POSITIVE_INFINITY,
    cgroupTasks: Number.POSITIVE_INFINITY,
  };
  const empty: Ledger = {
    processes: 0,
    pendingThreads: 0,
    pendingFds: 0,
    memoryBytes: 0,
    heldMemoryBytes: 0,
    cpuPercent: 0,
  };
  const demand: Demand = { processes: 3, threads: 3, fds: 60_010, memoryBytes: 3 * 2 ** 20, cpuPercent: 0 };
  assert.throws(
    () => admit('the run', demand, empty, machine, { maxProcesses: 100 }, profile),
    (error: EngineError) => {
      assert.equal(error.details.limit, 'RLIMIT_NOFILE');
      assert.equal(error.details.value, 20_000);
      assert.equal(error.details.field, 'templates.1.fds');
      assert.match(error.message, /templates\.1\.fds \(big\): 30000 .* 20000/);
      return true;
    },
  );
});
