/**
 * The resource shape's requests are packed one at a time into buffers that are filled again once the
 * exporter is done with them (otlp-requests.ts packRequests, RequestBuffers). They must be the requests
 * packed all at once, a reading the sampler rewrites while its request waits must go out as it is when
 * written, and a buffer the exporter may still send must never be filled again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import type { SampledProcess, SnapshotStore } from '../../src/sampler/snapshot.ts';
import { OtlpGrpcRequestExporter, type OtlpRequestExporter } from '../../src/telemetry/otlp-grpc-exporter.ts';
import {
  type EncodedRequest,
  type OtlpRequest,
  packRequests,
  packResourceMetrics,
  RequestBuffers,
} from '../../src/telemetry/otlp-requests.ts';
import { PROCESS_ATTRIBUTE_KEYS, PROCESS_METRICS } from '../../src/telemetry/process-metrics.ts';
import { createProcessResourceSource } from '../../src/telemetry/process-producer.ts';
import { type ExportOutcome, SampleDrivenMetricReader } from '../../src/telemetry/sample-driven-reader.ts';
import { type Reading, reading, sampledOf, storeOf } from '../helpers/generated-readings.ts';
import { attributesOf, decodeExportRequest, startOtlpSink } from '../helpers/otlp-sink.ts';

const SDK_RESOURCE = resourceFromAttributes({ 'service.name': 'process-simulator' });

function sourceOf(store: SnapshotStore) {
  return createProcessResourceSource({
    store,
    naming: 'otlp',
    simulationPrefix: 'simulator.',
    // every metric: process.cpu.utilization comes and goes with a reading, and the shape with it
    selection: {
      metrics: new Set(PROCESS_METRICS.map((m) => m.name)),
      attributes: new Set(PROCESS_ATTRIBUTE_KEYS),
    },
    scope: { name: 'process-simulator', version: '0.1.0' },
  });
}

const body = (request: EncodedRequest) => Buffer.from(Buffer.concat(request.parts));

/** process.pid -> its process.memory.usage value and whether it has process.cpu.utilization, per request */
interface Decoded {
  memory: number | undefined;
  utilization: boolean;
  executable: unknown;
}

function decoded(request: Uint8Array): Map<number, Decoded> {
  const out = new Map<number, Decoded>();
  for (const rm of decodeExportRequest(Buffer.from(request)).resource_metrics) {
    const attributes = attributesOf(rm.resource.attributes);
    const pid = attributes['process.pid'] as number;
    assert.ok(!out.has(pid), `process ${pid} twice in one request`);
    const metrics = rm.scope_metrics.flatMap((sm) => sm.metrics);
    const memory = metrics.find((m) => m.name === 'process.memory.usage');
    out.set(pid, {
      memory: (memory?.sum?.data_points ?? memory?.gauge?.data_points)?.[0]?.as_int as number | undefined,
      utilization: metrics.some((m) => m.name === 'process.cpu.utilization'),
      executable: attributes['process.executable.path'],
    });
  }
  return out;
}

const readings = fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 40 });

test('requests packed one at a time into reused buffers are the requests packed all at once', () => {
  fc.assert(
    fc.property(readings, fc.integer({ min: 300, max: 20_000 }), (generated, budget) => {
      const eager = packResourceMetrics(sourceOf(storeOf(generated).store)(SDK_RESOURCE), budget).map(body);
      const buffers = new RequestBuffers(budget);
      const lazy: Buffer[] = [];
      const used = new Set<Buffer>();
      for (const request of packRequests(sourceOf(storeOf(generated).store)(SDK_RESOURCE), budget, buffers)) {
        lazy.push(body(request));
        if (request.buffer) {
          used.add(request.buffer);
          buffers.give(request.buffer);
        }
      }
      assert.deepEqual(lazy, eager);
      assert.ok(used.size <= 1, `${used.size} buffers for requests that were each given back`);
    }),
    { numRuns: 150 },
  );
});

test('a reading rewritten while earlier requests are sent goes out as it is when written, with its own Resource', () => {
  fc.assert(
    fc.property(
      readings,
      // the readings written over each process's entry after each request, in turn; `true`: of another
      // process under the same PID (its start differs, and the sampler gives the entry its identity)
      fc.array(fc.array(fc.tuple(reading, fc.boolean()), { minLength: 40, maxLength: 40 }), {
        minLength: 1,
        maxLength: 6,
      }),
      // every process fits in a request: one split into pieces goes out in several
      fc.integer({ min: 4096, max: 12_000 }),
      (generated, rewrites, budget) => {
        const { store, processes: entries } = storeOf(generated);
        // per PID, the reading its entry holds, and the reading its identity was made from
        const values = new Map<number, Reading>(generated.map((r) => [r.pid, r]));
        const identities = new Map<number, Reading>(generated.map((r) => [r.pid, r]));
        const reused = new Set<number>();
        const requests: Buffer[] = [];
        const versions: Array<{ values: Map<number, Reading>; identities: Map<number, Reading> }> = [];
        const buffers = new RequestBuffers(budget);
        for (const request of packRequests(sourceOf(store)(SDK_RESOURCE), budget, buffers)) {
          requests.push(body(request));
          versions.push({ values: new Map(values), identities: new Map(identities) });
          if (request.buffer) buffers.give(request.buffer);
          // The sampler writes newer readings into the entries, in place, shape changes included.
          const next = rewrites[(requests.length - 1) % rewrites.length] as Array<[Reading, boolean]>;
          let i = 0;
          for (const [pid, entry] of entries) {
            const [later, another] = next[i++ % next.length] as [Reading, boolean];
            const start = (values.get(pid) as Reading).numbers[16] as number;
            const numbers = [...later.numbers];
            // another process's start differs (stat starttime: an integer below 2^53)
            numbers[16] = another ? (Number.isSafeInteger(start) && start < 2 ** 52 ? start + 1 : 7) : start;
            const r: Reading = { ...later, pid, numbers };
            const sampled = sampledOf(r);
            Object.assign(entry.sample, sampled.sample);
            values.set(pid, r);
            if (another) {
              (entry as { identity: SampledProcess['identity'] }).identity = sampled.identity;
              identities.set(pid, r);
              reused.add(pid);
            }
          }
        }
        const seen = new Set<number>();
        requests.forEach((request, k) => {
          for (const [pid, got] of decoded(request)) {
            assert.ok(!seen.has(pid), `process ${pid} sent twice`);
            seen.add(pid);
            const version = versions[k] as (typeof versions)[number];
            const r = version.values.get(pid) as Reading;
            // a request written with a process's shape and values of the moment it was packed
            assert.equal(got.utilization, r.utilization !== undefined, `process ${pid} in request ${k}`);
            assert.equal(got.memory, Math.trunc(r.numbers[3] as number) || 0);
            // under the Resource of the process those values are of
            const identity = version.identities.get(pid) as Reading;
            assert.equal(
              got.executable,
              `/opt/${identity.name}`,
              `process ${pid}: the Resource of another process`,
            );
          }
        });
        // Every process goes out once; one whose PID another took meanwhile may go with the next export.
        for (const r of generated)
          assert.ok(seen.has(r.pid) || reused.has(r.pid), `process ${r.pid} left out`);
      },
    ),
    { numRuns: 100 },
  );
});

test('a buffer comes back once given, never twice, and only of its own size', () => {
  const buffers = new RequestBuffers(1024, 2);
  const a = buffers.take();
  const b = buffers.take();
  assert.notEqual(a, b, 'a buffer out is not handed out again');
  buffers.give(a);
  buffers.give(a);
  buffers.give(Buffer.alloc(512));
  assert.equal(buffers.take(), a);
  assert.notEqual(buffers.take(), a, 'given twice, lent once');
  assert.throws(() => packRequests([], 2048, buffers).next(), /1024 bytes cannot hold requests of 2048/);
});

test('the reader fills no buffer the exporter still holds: a timed-out request keeps its bytes', async () => {
  const generated = fc.sample(readings, { numRuns: 1, seed: 7 })[0] as Reading[];
  const { store } = storeOf(
    fc
      .sample(reading, { numRuns: 60, seed: 11 })
      .map((r, i) => ({ ...r, pid: 1000 + i, utilization: undefined })),
  );
  assert.ok(generated.length > 0);
  const sent: Array<{ request: EncodedRequest; copy: Buffer; done: () => void }> = [];
  let hold = 1; // the first request is never answered in time
  const exporter: OtlpRequestExporter = {
    export(request: OtlpRequest, done) {
      assert.equal(request.kind, 'encoded');
      const answer = () => done({ code: ExportResultCode.SUCCESS });
      sent.push({ request, copy: body(request), done: answer });
      if (hold > 0) hold--;
      else answer(); // at once: a busy machine cannot make it late for the timeout
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const outcomes: ExportOutcome[] = [];
  const source = sourceOf(store);
  const reader = new SampleDrivenMetricReader({
    createExporter: () => exporter,
    processResources: (resource) => source(resource),
    timeoutMs: 50,
    maxRequestBytes: 4096,
    onResult: (outcome) => outcomes.push(outcome),
  });
  const provider = new MeterProvider({ readers: [reader] });
  try {
    for (let i = 0; i < 4; i++) await reader.exportNow();
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      [false, true, true, true],
    );
    const [held, ...answered] = sent;
    assert.ok(held && answered.length >= 6, `${answered.length} answered requests`);
    for (const { request } of answered)
      assert.notEqual(
        request.buffer,
        held.request.buffer,
        'the unanswered request’s buffer was filled again',
      );
    assert.deepEqual(body(held.request), held.copy, 'the unanswered request changed after it was sent');
    for (const { request, copy } of answered.slice(-1)) assert.deepEqual(body(request), copy);
    const buffersOfAnswered = new Set(answered.map(({ request }) => request.buffer));
    assert.ok(buffersOfAnswered.size <= 2, `${buffersOfAnswered.size} buffers for answered requests`);
    // Answered at last, it may be filled again.
    held.done();
    await reader.exportNow();
    assert.equal(outcomes.at(-1)?.ok, true);
  } finally {
    await provider.shutdown();
  }
});

test('a request body goes to Buffer.from as a view of its buffer, not a copy; the buffer is whole again once given back', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8192 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      (size, requests) => {
        const buffers = new RequestBuffers(size);
        for (const [wanted, fill] of requests) {
          const bytes = 1 + (wanted % size);
          const buffer = buffers.take();
          assert.equal(buffer.length, size, 'a buffer taken is whole');
          for (let i = 0; i < size; i++) buffer[i] = (fill + i * 31) & 0xff;
          const expected = Buffer.from(buffer.subarray(0, bytes));
          assert.notEqual(expected.buffer, buffer.buffer, 'Buffer.from of an ordinary view copies');
          const body = buffers.body(buffer, bytes);
          assert.deepEqual(Buffer.from(body.buffer, body.byteOffset, body.byteLength), expected);
          // What the OTLP transport does with it, at each attempt of the request
          for (let attempt = 0; attempt < 2; attempt++) {
            const sent = Buffer.from(body);
            assert.equal(sent.buffer, buffer.buffer, 'the body was copied');
            assert.equal(sent.byteOffset, 0);
            assert.deepEqual(sent, expected);
          }
          buffers.give(buffer);
          assert.equal(buffer.length, size, 'a buffer given back is whole');
          assert.deepEqual(buffer.subarray(0, bytes), expected, 'giving back kept the bytes before the cut');
          assert.equal(buffers.take(), buffer, 'the buffer given back is lent again');
          buffers.give(buffer);
        }
        // Any other buffer: an ordinary view, left as it is
        const other = Buffer.alloc(size, 7);
        const body = buffers.body(other, size);
        assert.equal(body.buffer, other.buffer);
        assert.notEqual(Buffer.from(body).buffer, other.buffer);
        buffers.give(other);
        assert.equal(other.length, size);
        assert.notEqual(buffers.take(), other, 'a buffer not of take() is never lent');
      },
    ),
    { numRuns: 200 },
  );
});

test('requests sent from reused buffers by the package’s gRPC transport arrive as packed, one refused and sent again too', async () => {
  const sink = await startOtlpSink();
  const exporter = new OtlpGrpcRequestExporter({ url: sink.endpoint, timeoutMillis: 10_000 });
  try {
    const generated = fc.sample(reading, { numRuns: 80, seed: 23 }).map((r, i) => ({ ...r, pid: 2000 + i }));
    const budget = 4096;
    const eager = packResourceMetrics(sourceOf(storeOf(generated).store)(SDK_RESOURCE), budget).map(body);
    assert.ok(eager.length >= 4, `${eager.length} requests: too few to reuse a buffer`);
    const buffers = new RequestBuffers(budget);
    const used = new Set<Buffer>();
    let k = 0;
    for (const request of packRequests(sourceOf(storeOf(generated).store)(SDK_RESOURCE), budget, buffers)) {
      // The second request is refused, then exported again: the transport sends the same body twice.
      const send = () =>
        new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(request, resolve));
      if (k++ === 1) {
        sink.failing = true;
        const refused = await send();
        sink.failing = false;
        assert.equal(refused.code, ExportResultCode.FAILED, 'the refused request passed');
        assert.equal(sink.refused, 1);
      }
      const outcome = await send();
      assert.equal(outcome.code, ExportResultCode.SUCCESS, outcome.error?.message);
      if (request.buffer) {
        used.add(request.buffer);
        buffers.give(request.buffer);
      }
    }
    assert.equal(used.size, 1, 'one buffer for requests sent one after the other');
    assert.deepEqual(
      sink.requests.map((r) => r.bytes),
      eager.map((b) => b.length),
    );
    assert.deepEqual(
      sink.requests.map((r) => r.request),
      eager.map((b) => decodeExportRequest(b)),
    );
  } finally {
    await exporter.shutdown();
    await sink.close();
  }
});
