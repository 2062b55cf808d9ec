import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sigkillTrial } from '../helpers/sigkill-trial.ts';

const TRIALS = 20;
const PROCESSES = 8;

describe('SIGKILL of the simulator', () => {
  it(`leaves no simulated process alive 1 s later, in ${TRIALS} trials in a row`, async () => {
    const slowest: number[] = [];
    for (let trial = 1; trial <= TRIALS; trial++) {
      const result = await sigkillTrial({ processes: PROCESSES });
      assert.equal(
        result.children,
        PROCESSES,
        `trial ${trial}: the simulator had ${result.children} children`,
      );
      assert.deepEqual(result.orphans, [], `trial ${trial}: still running 1 s after the SIGKILL`);
      assert.ok(Number.isFinite(result.allDeadMs), `trial ${trial}: not every child died within 1 s`);
      assert.deepEqual(result.unreaped, [], `trial ${trial}: zombies left 5 s after the SIGKILL`);
      slowest.push(result.allDeadMs);
    }
    assert.ok(Math.max(...slowest) < 1000);
  });
});
