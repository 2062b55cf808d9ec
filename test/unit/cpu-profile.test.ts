/**
 * The benchmark's attribution of a CPU profile to the engine's parts, on a handcrafted profile: the
 * leaf-most frame of a part decides, shared collection frames defer to their caller, (idle) is left
 * out and only the samples inside the window count, each lasting until the next.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributeProfile, type CpuProfile, partOfFrame } from '../../bench/lib/cpu-profile.ts';

const SRC = 'file:///app/src';
const MODULES = 'file:///app/node_modules';

function node(id: number, functionName: string, url: string, children: number[] = []) {
  return { id, callFrame: { functionName, url }, children };
}

// (root) -> main.ts -> sampler.ts -> node:fs readFileSync
//                   -> telemetry.ts (server) -> prometheus-text.ts -> process-producer.ts
//                   -> sample-driven-reader.ts -> process-producer.ts -> @opentelemetry/sdk-metrics
//                   -> engine/control-loop.ts -> log.ts
//        -> (garbage collector), (program), (idle)
const profile: CpuProfile = {
  nodes: [
    node(1, '(root)', '', [2, 20, 21, 22]),
    node(2, 'main', `${SRC}/main.ts`, [3, 5, 8, 12]),
    node(3, 'sampleNow', `${SRC}/sampler/sampler.ts`, [4]),
    node(4, 'readFileSync', 'node:fs'),
    node(5, '', `${SRC}/telemetry/telemetry.ts`, [6]),
    node(6, 'serializeToBuffer', `${SRC}/telemetry/prometheus-text.ts`, [7]),
    node(7, 'collect', `${SRC}/telemetry/process-producer.ts`),
    node(8, 'onSample', `${SRC}/telemetry/sample-driven-reader.ts`, [9]),
    node(9, 'collect', `${SRC}/telemetry/process-producer.ts`, [10]),
    node(10, 'collect', `${MODULES}/@opentelemetry/sdk-metrics/build/src/export/MetricReader.js`),
    node(12, 'tick', `${SRC}/engine/control-loop.ts`, [13]),
    node(13, 'info', `${SRC}/log.ts`),
    node(20, '(garbage collector)', ''),
    node(21, '(program)', ''),
    node(22, '(idle)', ''),
  ],
  startTime: 1_000_000,
  endTime: 1_000_000 + 200,
  // sample i is at startTime + 100 + 10 i: the first one (before the window) must not count
  samples: [4, 4, 7, 10, 13, 20, 21, 22, 2, 4],
  timeDeltas: [100, 10, 10, 10, 10, 10, 10, 10, 10, 10],
};

test('each sample counts for the part of its leaf-most deciding frame, inside the window only', () => {
  const from = 1_000_000 + 110;
  const to = 1_000_000 + 300;
  const result = attributeProfile(profile, from, to);
  assert.equal(result.samples, 9);
  assert.deepEqual(result.us, {
    'sampling (/proc reads)': 20, // node:fs under the sampler, twice (the last one until endTime)
    '/metrics': 10, // the producer under the Prometheus serializer
    'OTLP export': 10, // the SDK and the producer under the OTLP reader
    'control loop and patterns': 10, // log.ts under the control loop
    API: 0,
    GC: 10,
    '(program): native code outside JavaScript': 10,
    other: 10, // main.ts alone
  });
  assert.equal(result.idleUs, 10);
});

test('the window cuts a sample at its end', () => {
  const from = 1_000_000 + 100;
  const to = 1_000_000 + 105;
  const result = attributeProfile(profile, from, to);
  assert.equal(result.samples, 1);
  assert.equal(result.us['sampling (/proc reads)'], 5);
});

test('frames of no part do not decide', () => {
  assert.equal(partOfFrame({ functionName: 'x', url: 'node:internal/timers' }), undefined);
  assert.equal(partOfFrame({ functionName: 'x', url: `${SRC}/simulator.ts` }), undefined);
  assert.deepEqual(partOfFrame({ functionName: 'x', url: `${MODULES}/@grpc/grpc-js/build/src/call.js` }), {
    part: 'OTLP export',
  });
  assert.deepEqual(partOfFrame({ functionName: 'x', url: `${MODULES}/hono/dist/hono-base.js` }), {
    part: 'API',
  });
});
