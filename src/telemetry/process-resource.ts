/**
 * The Resource of one process: the SDK's Resource with the process's attributes over it, as
 * `sdkResource.merge(resourceFromAttributes(attributes))` makes it, held as one attributes object.
 *
 * Why not the package's ResourceImpl: it keeps a [key, value] array per attribute (copied again by each
 * merge) and then a memoized attributes object, ~2.5 KB and ~45 objects per process. At 10,000
 * processes that was 25 MB of the engine's heap and a twentieth of the objects the GC marks at every
 * full collection, for a Resource that is encoded once (otlp-requests.ts) and then only carried. This
 * class implements the package's public Resource interface (attributes, schemaUrl, merge,
 * getRawAttributes) and hands merges to the package, so whatever the SDK does with it stays the
 * package's behaviour; a test compares its attributes, merges and encoding with the package's.
 */
import type { Attributes } from '@opentelemetry/api';
import { isSimpleAttributeValue } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';

type RawResourceAttribute = ReturnType<Resource['getRawAttributes']>[number];

class MergedResource implements Resource {
  readonly attributes: Attributes;
  readonly schemaUrl: string | undefined;

  constructor(attributes: Attributes, schemaUrl: string | undefined) {
    this.attributes = attributes;
    this.schemaUrl = schemaUrl;
  }

  get asyncAttributesPending(): boolean {
    return false;
  }

  async waitForAsyncAttributes(): Promise<void> {}

  merge(other: Resource | null): Resource {
    return this.#asPackage().merge(other);
  }

  getRawAttributes(): RawResourceAttribute[] {
    return Object.entries(this.attributes);
  }

  #asPackage(): Resource {
    return resourceFromAttributes(
      this.attributes,
      this.schemaUrl ? { schemaUrl: this.schemaUrl } : undefined,
    );
  }
}

/**
 * `base` with `attributes` over it, in the order and with the checks of the package's merge: the
 * process's attributes first, then the base's it does not override; empty keys and values that are not
 * simple attribute values are dropped. A base whose attributes are still pending is merged by the
 * package.
 */
export function processResource(base: Resource, attributes: Attributes): Resource {
  if (base.asyncAttributesPending) return base.merge(resourceFromAttributes(attributes));
  const merged: Attributes = {};
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (key.length > 0 && isSimpleAttributeValue(value)) merged[key] = value;
  }
  const baseAttributes = base.attributes;
  for (const key of Object.keys(baseAttributes)) {
    if (!Object.hasOwn(merged, key)) merged[key] = baseAttributes[key];
  }
  return new MergedResource(merged, base.schemaUrl || undefined);
}
