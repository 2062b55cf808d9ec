/**
 * Shards of a run: for generated profiles, totals and shard counts, the shards' processes are exactly
 * the whole run's (each once), their sizes differ by at most one, names stay those of the whole run,
 * and the per-template counts a shard reserves at the door are the ones it spawns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { validateProfile } from '../../src/profiles/load.ts';
import { planProcesses, scaleProfile, shardProfile } from '../../src/profiles/plan.ts';

const profiles = fc
  .array(
    fc.record({
      count: fc.integer({ min: 0, max: 40 }),
      numbered: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((templates) =>
    validateProfile({
      name: 'sharded',
      templates: templates.map((t, i) => ({
        name: t.numbered ? `t${i}-{i}` : `t${i}`,
        count: t.count,
        priority: 'low',
      })),
    }),
  );

test('the shards hold the whole run exactly once, in sizes that differ by at most one', () => {
  fc.assert(
    fc.property(
      profiles,
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 20 }),
      (base, total, count) => {
        const profile = scaleProfile(base, total);
        const whole = planProcesses(profile).map((p) => `${p.templateIndex}/${p.index}/${p.name}`);
        const seen: string[] = [];
        const sizes: number[] = [];
        for (let index = 0; index < count; index++) {
          const shard = { index, count };
          const planned = planProcesses(profile, shard);
          sizes.push(planned.length);
          seen.push(...planned.map((p) => `${p.templateIndex}/${p.index}/${p.name}`));
          const held = shardProfile(profile, shard);
          profile.templates.forEach((_, t) => {
            assert.equal(
              held.templates[t]?.count,
              planned.filter((p) => p.templateIndex === t).length,
              `template ${t} of shard ${index}/${count}`,
            );
          });
        }
        assert.deepEqual(seen.sort(), [...whole].sort());
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
      },
    ),
    { numRuns: 2000 },
  );
});

test('numbered names are unique over all shards', () => {
  const profile = validateProfile({
    name: 'fleet',
    templates: [
      { name: 'api-{i}', count: 50, priority: 'high' },
      { name: 'job-{i}-{g}', count: 25, priority: 'low' },
    ],
  });
  const names = [0, 1, 2, 3].flatMap((index) =>
    planProcesses(profile, { index, count: 4 }).map((p) => p.name),
  );
  assert.equal(names.length, 75);
  assert.equal(new Set(names).size, 75);
});
