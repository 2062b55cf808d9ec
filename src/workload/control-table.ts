/**
 * The engine's side of the worker control protocol: one plain file of fixed 32-byte slots, one slot per
 * simulated process. A worker maps its slot read-only (MAP_SHARED) and re-reads it on every tick and on
 * SIGUSR1; the engine updates a slot with a single pwrite, then signals the worker. Page cache and shared
 * mappings are coherent on Linux, so no other synchronisation is needed.
 *
 * Slot layout, little-endian uint32 at byte offset:
 * 0 generation (bumped on every write), 4 cpu_permille (0..1000 of one core), 8 rss_kib (resident set of
 * the whole process), 12 threads (total, >= 1), 16 fds (entries of /proc/PID/fd, >= 3), 20 flags (0),
 * 24 and 28 reserved (0).
 */
import { closeSync, constants, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';

/** Bytes per slot. */
export const SLOT_BYTES = 32;
/** Largest thread count a slot may ask for (the worker clamps at the same value). */
export const MAX_THREADS = 100_000;
/** Largest fd count a slot may ask for (the worker clamps at the same value). */
export const MAX_FDS = 1_048_576;
/** Largest rss_kib a uint32 field holds. */
export const MAX_RSS_KIB = 0xffff_ffff;
/** Largest table (a 32 MiB file); far above the host's pid_max, which bounds live workers anyway. */
export const MAX_CAPACITY = 1_048_576;

const OFFSET = { generation: 0, cpuPermille: 4, rssKiB: 8, threads: 12, fds: 16 } as const;

/** What a worker should hold. */
export interface SlotTargets {
  /** CPU share of one core in permille, 0..1000 (1000 = 100 %). */
  cpuPermille: number;
  /** Resident set of the whole process in KiB; below the worker's floor it stays at its floor. */
  rssKiB: number;
  /** Total thread count (Threads in /proc/PID/status), >= 1. */
  threads: number;
  /** Entries in /proc/PID/fd, stdio included, >= 3. */
  fds: number;
}

function checkInteger(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const shown = typeof value === 'number' ? String(value) : `${JSON.stringify(value)} (${typeof value})`;
    throw new RangeError(`${field} must be an integer ${min}..${max}, got ${shown}`);
  }
}

/** The control file and its slot allocator; one per engine. */
export class ControlTable {
  readonly path: string;
  readonly capacity: number;
  #fd: number | undefined;
  readonly #generations: Uint32Array;
  readonly #allocated: Uint8Array;
  /** Free slots, lowest index on top so slots are reused compactly. */
  readonly #free: number[];

  private constructor(path: string, capacity: number, fd: number) {
    this.path = path;
    this.capacity = capacity;
    this.#fd = fd;
    this.#generations = new Uint32Array(capacity);
    this.#allocated = new Uint8Array(capacity);
    this.#free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }

  /**
   * Creates (or truncates) the file at `path`, zero-filled and `capacity * 32` bytes long. A symlink at
   * `path` is refused (O_NOFOLLOW): the file lives in the engine's private directory, see runtime-dir.ts.
   */
  static create(path: string, capacity: number): ControlTable {
    checkInteger('capacity', capacity, 1, MAX_CAPACITY);
    const fd = openSync(
      path,
      constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      ftruncateSync(fd, capacity * SLOT_BYTES);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new ControlTable(path, capacity, fd);
  }

  /** A free slot index; throws when every slot is in use. */
  allocate(): number {
    const slot = this.#free.pop();
    if (slot === undefined)
      throw new Error(`control table ${this.path} is full: all ${this.capacity} slots in use`);
    this.#allocated[slot] = 1;
    return slot;
  }

  /** Zeroes the slot and returns it to the free list. */
  release(slot: number): void {
    this.#checkAllocated(slot);
    this.#pwrite(slot, Buffer.alloc(SLOT_BYTES));
    this.#generations[slot] = 0;
    this.#allocated[slot] = 0;
    this.#free.push(slot);
  }

  /** Validates the targets, bumps the slot's generation and writes the slot with one pwrite. */
  write(slot: number, targets: SlotTargets): void {
    this.#checkAllocated(slot);
    checkInteger('cpuPermille', targets.cpuPermille, 0, 1000);
    checkInteger('rssKiB', targets.rssKiB, 0, MAX_RSS_KIB);
    checkInteger('threads', targets.threads, 1, MAX_THREADS);
    checkInteger('fds', targets.fds, 3, MAX_FDS);
    const generation = ((this.#generations[slot] ?? 0) + 1) >>> 0;
    const buf = Buffer.alloc(SLOT_BYTES);
    buf.writeUInt32LE(generation, OFFSET.generation);
    buf.writeUInt32LE(targets.cpuPermille, OFFSET.cpuPermille);
    buf.writeUInt32LE(targets.rssKiB, OFFSET.rssKiB);
    buf.writeUInt32LE(targets.threads, OFFSET.threads);
    buf.writeUInt32LE(targets.fds, OFFSET.fds);
    this.#pwrite(slot, buf);
    this.#generations[slot] = generation;
  }

  /** The slot as stored in the file (what the worker sees). */
  read(slot: number): SlotTargets & { generation: number } {
    this.#checkRange(slot);
    const buf = Buffer.alloc(SLOT_BYTES);
    readSync(this.#openFd(), buf, 0, SLOT_BYTES, slot * SLOT_BYTES);
    return {
      generation: buf.readUInt32LE(OFFSET.generation),
      cpuPermille: buf.readUInt32LE(OFFSET.cpuPermille),
      rssKiB: buf.readUInt32LE(OFFSET.rssKiB),
      threads: buf.readUInt32LE(OFFSET.threads),
      fds: buf.readUInt32LE(OFFSET.fds),
    };
  }

  /** Closes the file and unlinks it; running workers keep their mapping. Safe to call twice. */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  #pwrite(slot: number, buf: Buffer): void {
    const written = writeSync(this.#openFd(), buf, 0, SLOT_BYTES, slot * SLOT_BYTES);
    if (written !== SLOT_BYTES)
      throw new Error(`short write to slot ${slot} of ${this.path}: ${written} bytes`);
  }

  #openFd(): number {
    if (this.#fd === undefined) throw new Error(`control table ${this.path} is closed`);
    return this.#fd;
  }

  #checkRange(slot: number): void {
    checkInteger('slot', slot, 0, this.capacity - 1);
  }

  #checkAllocated(slot: number): void {
    this.#checkRange(slot);
    if (this.#allocated[slot] !== 1) throw new Error(`slot ${slot} of ${this.path} is not allocated`);
  }
}
