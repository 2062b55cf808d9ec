/**
 * The Resource of one process: the SDK's Resource with the process's attributes over it, as
 * `sdkResource.merge(resourceFromAttributes(attributes))` makes it, held as the two parts.
 *
 * Why not the package's ResourceImpl: it keeps a [key, value] array per attribute (copied again by each
 * merge) and then a memoized attributes object, ~2.5 KB and ~45 objects per process. At 10,000
 * processes that was 25 MB of the engine's heap and a twentieth of the objects the GC marks at every
 * full collection, for a Resource that is encoded once (otlp-requests.ts) and then only carried. This
 * class implements the package's public Resource interface (attributes, schemaUrl, merge,
 * getRawAttributes) and hands merges to the package, so whatever the SDK does with it stays the
 * package's behaviour; a test compares its attributes, merges and encoding with the package's.
 *
 * Why the merged attributes are made when asked and not kept: an object of 20 or so attributes added
 * one key at a time is kept by V8 as a hash table (more than 12 properties beyond the 4 an object
 * literal has room for), 0.8 KB a process in a heap snapshot. They are asked for once, when the
 * Resource is first encoded; each ask gets a new object.
 */
import type { Attributes } from '@opentelemetry/api';
import { isSimpleAttributeValue } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';

type RawResourceAttribute = ReturnType<Resource['getRawAttributes']>[number];

class MergedResource implements Resource {
  readonly #own: Attributes;
  readonly #base: Resource;

  constructor(own: Attributes, base: Resource) {
    this.#own = own;
    this.#base = base;
  }

  /**
   * What the package's merge makes: its raw attributes, the process's then the base's, into one object
   * the way its `attributes` does it. The first of a key wins; empty keys and values that are not simple
   * attribute values are dropped; each goes in by assignment, as there (a key `__proto__` sets the
   * prototype, as the package's does).
   */
  get attributes(): Attributes {
    const merged: Attributes = {};
    const add = (key: string, value: unknown) => {
      if (!Object.hasOwn(merged, key) && key.length > 0 && isSimpleAttributeValue(value)) {
        merged[key] = value as Attributes[string];
      }
    };
    const own = this.#own;
    for (const key of Object.keys(own)) add(key, own[key]);
    for (const [key, value] of this.#base.getRawAttributes()) add(key, value);
    return merged;
  }

  get schemaUrl(): string | undefined {
    return this.#base.schemaUrl || undefined;
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
    const { schemaUrl } = this;
    return resourceFromAttributes(this.attributes, schemaUrl ? { schemaUrl } : undefined);
  }
}

/**
 * `base` with `attributes` over it (see `MergedResource.attributes`). `attributes` is kept, not copied:
 * do not change it afterwards. A base whose attributes are still pending is merged by the package.
 */
export function processResource(base: Resource, attributes: Attributes): Resource {
  if (base.asyncAttributesPending) return base.merge(resourceFromAttributes(attributes));
  return new MergedResource(attributes, base);
}
