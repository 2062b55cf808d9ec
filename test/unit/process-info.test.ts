import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type ManagedProcess, toProcessInfo } from '../../src/engine/managed-process.ts';
import type { SlotTargets } from '../../src/workload/control-table.ts';

const targets = fc.record({
  cpuPermille: fc.integer({ min: 0, max: 1000 }),
  rssKiB: fc.integer({ min: 0, max: 2 ** 30 }),
  threads: fc.integer({ min: 1, max: 64 }),
  fds: fc.integer({ min: 3, max: 1024 }),
});

test('a process’s ProcessInfo is kept while its targets hold and follows every change of them', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(targets, fc.boolean()), { minLength: 1, maxLength: 20 }), (steps) => {
      const process = {
        pid: 4242,
        name: 'worker',
        simulationId: 'sim',
        profile: 'p',
        shard: undefined,
        priority: 'low',
        template: { cpu: { pattern: 'steady' }, memory: { pattern: 'spiky' } },
        startedAtMs: 1,
        generation: 0,
        targets: { cpuPermille: 0, rssKiB: 0, threads: 1, fds: 3 },
      } as unknown as ManagedProcess;
      const seen: Array<{ info: ReturnType<typeof toProcessInfo>; targets: SlotTargets }> = [];
      for (const [next, change] of steps) {
        const before = toProcessInfo(process);
        // A retarget replaces the object (ProcessRegistry.retarget keeps a copy): the info follows.
        if (change) process.targets = { ...next };
        const info = toProcessInfo(process);
        assert.deepEqual(info.targets, process.targets);
        assert.equal(info.cpuPattern, 'steady');
        assert.equal(info.memoryPattern, 'spiky');
        if (!change) assert.equal(info, before, 'the same object while the targets hold');
        seen.push({ info, targets: { ...process.targets } });
      }
      // An info handed out earlier still says what the targets were then.
      for (const { info, targets } of seen) assert.deepEqual(info.targets, targets);
    }),
    { numRuns: 300 },
  );
});
