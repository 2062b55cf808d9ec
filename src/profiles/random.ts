/**
 * Deterministic randomness. Everything random in a simulation (names, pattern phases, lifetimes, chaos
 * picks) is derived from SEED through these functions, so the same seed gives the same run. Values are
 * derived from keys (hash of seed + labels) instead of one shared stream, so they do not depend on the
 * order in which timers happen to fire.
 */

/**
 * 32-bit FNV-1a hash of the parts joined with a separator that cannot appear in numbers, part by part
 * without building the joined string (the control loop hashes twice per process and second).
 */
export function hashKey(...parts: Array<string | number>): number {
  let hash = 0x811c9dc5;
  for (let p = 0; p < parts.length; p++) {
    if (p > 0) hash = Math.imul(hash ^ 0x0001, 0x01000193);
    const part = parts[p];
    const text = typeof part === 'string' ? part : String(part);
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
  }
  return hash >>> 0;
}

/** A uniform number in [0, 1) for the given key (mulberry32 finaliser over the hashed key). */
export function unitRandom(...parts: Array<string | number>): number {
  let t = (hashKey(...parts) + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A sequential generator (mulberry32) for places that draw many numbers in a fixed order. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for runs that did not ask for one; reported so the run can be repeated. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
