/**
 * The chaos soak, short (the benchmark runs it for 30 minutes): simulators on a chaos profile at high
 * rates, hammered by API chaos with coinciding deadlines, each ended by SIGTERM. No crash, no stuck
 * stop, no 5xx, no worker left behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaosSoak } from '../helpers/chaos-soak.ts';

test('chaos at high rates from the profile and the API: no crash, no stuck stop, no 5xx, nothing left', async () => {
  const result = await runChaosSoak({
    durationMs: 24_000,
    cycleMs: 8000,
    requestsPerSecond: 20,
    graceMs: 10_000,
  });
  const summary = JSON.stringify({ ...result, crashes: result.crashes.length });
  assert.deepEqual(result.crashes, [], summary);
  assert.equal(result.stuck, 0, summary);
  assert.equal(result.cleanExits, result.cycles, summary);
  assert.ok(result.cycles >= 3, summary);
  const fiveHundreds = Object.entries(result.byStatus).filter(([status]) => !/^[1-4]\d\d$/.test(status));
  assert.deepEqual(fiveHundreds, [], summary);
  // The soak did what it is for: faults from both sides, and refusals counted as answers, not errors.
  assert.ok((result.byStatus['201'] ?? 0) > 20, summary);
  assert.ok(result.randomFaults > 10, summary);
  assert.ok(result.workersSeen > 0, summary);
  assert.equal(result.workersLeft, 0, summary);
});
