/**
 * The reported chaos defects, over real HTTP: two spikes on one process ending in the same control tick
 * (the engine died with an uncaught error; stop answered 404, SIGTERM hung), and name patterns that
 * froze the event loop (runs of `*`). The simulator keeps answering and stops cleanly.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { type ApiSimulator, call, runSimulation, startApiSimulator } from './api-helpers.ts';

let s: ApiSimulator;
before(async () => {
  s = await startApiSimulator();
});
after(async () => {
  await s?.stop();
});

test('two spikes on one process ending in one tick: the simulator lives on, and stop and delete work', async () => {
  const id = await runSimulation(s.url, {
    name: 'same-tick',
    type: { name: 'same-tick', templates: [{ name: 'target', count: 1, priority: 'low' }] },
  });
  for (const duration of ['2000ms', '1990ms']) {
    const spike = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: 'target',
      intensity: 5,
      duration,
    });
    assert.equal(spike.status, 201, JSON.stringify(spike.body));
  }
  await waitFor('both spikes over', { timeoutMs: 10_000 }, async () => {
    const { body } = await call(s.url, 'GET', '/api/v1/chaos');
    return body.faults.length === 0;
  });
  // A new request right after is answered with its fault (it got 404 before).
  const third = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
    process_pattern: 'target',
    intensity: 5,
    duration: '1s',
  });
  assert.equal(third.status, 201);
  assert.equal((await call(s.url, 'GET', '/health')).status, 200);
  const stopped = await call(s.url, 'POST', `/api/v1/simulations/${id}/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  assert.equal(stopped.body.state, 'stopped');
  assert.equal((await call(s.url, 'DELETE', `/api/v1/simulations/${id}`)).status, 204);
});

test('patterns built to make a backtracking matcher explode are answered at once', async () => {
  const id = await runSimulation(s.url, {
    name: 'globs',
    type: { name: 'globs', templates: [{ name: 'aaaaaaaaaaaaaaa', count: 2, priority: 'low' }] },
  });
  for (const pattern of [
    '****************b',
    `${'*'.repeat(63)}b`,
    `${'*a'.repeat(31)}b`,
    '?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b',
  ]) {
    const answer = await call(s.url, 'POST', '/api/v1/chaos/cpu-spike', {
      process_pattern: pattern,
      intensity: 5,
      duration: '1s',
    });
    assert.equal(answer.status, 404, `${pattern}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, 'no_match');
  }
  assert.equal((await call(s.url, 'GET', '/health')).status, 200);
  await call(s.url, 'POST', `/api/v1/simulations/${id}/stop`);
});
