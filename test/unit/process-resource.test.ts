import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import fc from 'fast-check';
import { processResource } from '../../src/telemetry/process-resource.ts';

// Keys that collide between the base and the process on purpose, and any others.
const key = fc.oneof(
  fc.constantFrom('service.name', 'host.name', 'process.pid', 'process.owner', 'simulator.shard', ''),
  fc.string({ maxLength: 12 }),
);
const value = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  // not simple attribute values: dropped by both
  fc.constantFrom(null, undefined, { nested: 1 }, [1, 'mixed']),
);
const attributes = fc.dictionary(key, value, { maxKeys: 10 }) as fc.Arbitrary<Attributes>;
const schemaUrl = fc.option(fc.constantFrom('', 'https://opentelemetry.io/schemas/1.26.0'), {
  nil: undefined,
});

const encode = (resource: Resource) =>
  Buffer.from(ProtobufMetricsSerializer.serializeRequest({ resource, scopeMetrics: [] }) ?? new Uint8Array());

test('a process Resource is what the package’s merge makes: attributes in order, raw attributes, schema URL, further merges and bytes', () => {
  fc.assert(
    fc.property(attributes, attributes, schemaUrl, attributes, (baseAttributes, own, url, later) => {
      const base = resourceFromAttributes(baseAttributes, url === undefined ? undefined : { schemaUrl: url });
      const expected = base.merge(resourceFromAttributes(own));
      const actual = processResource(base, own);
      // Key order too: the encoding writes attributes in it.
      assert.deepEqual(Object.entries(actual.attributes), Object.entries(expected.attributes));
      // A key `__proto__` sets the prototype of the package's attributes object (it assigns each one).
      assert.equal(Object.getPrototypeOf(actual.attributes), Object.getPrototypeOf(expected.attributes));
      assert.equal(actual.schemaUrl, expected.schemaUrl);
      assert.equal(actual.asyncAttributesPending, false);
      assert.deepEqual(
        Object.entries(Object.fromEntries(actual.getRawAttributes().filter(([k]) => k !== ''))),
        Object.entries(expected.attributes),
      );
      assert.deepEqual(encode(actual), encode(expected));
      const next = resourceFromAttributes(later);
      assert.deepEqual(
        Object.entries(actual.merge(next).attributes),
        Object.entries(expected.merge(next).attributes),
      );
      assert.deepEqual(
        Object.entries(next.merge(actual).attributes),
        Object.entries(next.merge(expected).attributes),
      );
      assert.equal(actual.merge(next).schemaUrl, expected.merge(next).schemaUrl);
    }),
    { numRuns: 1000 },
  );
});

test('a base whose attributes are still pending is merged by the package', async () => {
  const base = resourceFromAttributes({ 'host.name': Promise.resolve('node-1') as never });
  const resource = processResource(base, { 'process.pid': 7 });
  assert.equal(resource.asyncAttributesPending, true);
  await resource.waitForAsyncAttributes?.();
  assert.deepEqual(resource.attributes, { 'process.pid': 7, 'host.name': 'node-1' });
});
