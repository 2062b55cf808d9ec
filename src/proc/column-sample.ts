/**
 * The ProcessSample the reader makes: its numbers live in one Float64Array per field, shared by every
 * sample (one slot each), and the sample reads and writes them through accessors.
 *
 * Why: V8 keeps a number field that ever held a fraction as a boxed double, an object of its own. A
 * sample held ~14 of them, and the sampler keeps two samples per process: at 10,000 processes that was
 * 280,000 objects, half of what every full garbage collection of the engine marked (a heap snapshot
 * counted ~60 objects per process). Here a sample is one object with a slot number, two strings and
 * the utilization; its numbers cost 8 bytes each and nothing to mark.
 *
 * A slot is the sample's for the sample's life: it is handed back (FinalizationRegistry) only once the
 * sample is garbage, so no live sample ever shares one. `toJSON` gives the plain fields.
 */
import type { CpuUtilization, ProcessSample } from './reader.ts';

/** The number fields, in their column order. */
const FIELDS = [
  'pid',
  'ppid',
  'cpuUserSeconds',
  'cpuSystemSeconds',
  'cpuWaitSeconds',
  'rssBytes',
  'vmsBytes',
  'threads',
  'openFds',
  'readChars',
  'writeChars',
  'readSyscalls',
  'writeSyscalls',
  'voluntaryCtxSwitches',
  'involuntaryCtxSwitches',
  'signalsPending',
  'memoryPercent',
  'minorFaults',
  'majorFaults',
  'startTimeMs',
  'startTicks',
  'readAtMs',
] as const satisfies ReadonlyArray<keyof ProcessSample>;

/** memoryPercent's column holds this for undefined (a percentage is never NaN: see the reader). */
const UNDEFINED = Number.NaN;

/** The columns and the free slots. */
class Columns {
  /** one column per field of FIELDS, all of `capacity` slots */
  columns: Float64Array[];
  capacity = 0;
  #next = 0;
  readonly #free: number[] = [];

  constructor(capacity: number) {
    this.columns = FIELDS.map(() => new Float64Array(capacity));
    this.capacity = capacity;
  }

  take(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#next === this.capacity) this.#grow();
    return this.#next++;
  }

  release(slot: number): void {
    for (const column of this.columns) column[slot] = 0;
    this.#free.push(slot);
  }

  /** how many slots are taken (tests) */
  get taken(): number {
    return this.#next - this.#free.length;
  }

  #grow(): void {
    const capacity = this.capacity * 2;
    this.columns = this.columns.map((old) => {
      const column = new Float64Array(capacity);
      column.set(old);
      return column;
    });
    this.capacity = capacity;
  }
}

const store = new Columns(1024);
const slots = new FinalizationRegistry<number>((slot) => store.release(slot));

/** Slots taken by live samples and by samples not yet collected (tests). */
export function columnSlotsTaken(): number {
  return store.taken;
}

export class ColumnSample implements ProcessSample {
  /** this sample's index in every column */
  readonly slot: number;
  name = '';
  state = '';
  cpuUtilization: CpuUtilization | undefined = undefined;
  // The number fields: accessors on the prototype (below), declared here for the type checker.
  declare pid: number;
  declare ppid: number;
  declare cpuUserSeconds: number;
  declare cpuSystemSeconds: number;
  declare cpuWaitSeconds: number;
  declare rssBytes: number;
  declare vmsBytes: number;
  declare threads: number;
  declare openFds: number;
  declare readChars: number;
  declare writeChars: number;
  declare readSyscalls: number;
  declare writeSyscalls: number;
  declare voluntaryCtxSwitches: number;
  declare involuntaryCtxSwitches: number;
  declare signalsPending: number;
  declare memoryPercent: number | undefined;
  declare minorFaults: number;
  declare majorFaults: number;
  declare startTimeMs: number;
  declare startTicks: number;
  declare readAtMs: number;

  constructor() {
    this.slot = store.take();
    slots.register(this, this.slot);
    // A slot handed back was zeroed; memoryPercent starts undefined as in a plain sample.
    (store.columns[MEMORY_PERCENT] as Float64Array)[this.slot] = UNDEFINED;
  }

  /** The plain fields (JSON.stringify, and tests comparing with plain samples). */
  toJSON(): ProcessSample {
    const plain: Record<string, unknown> = { name: this.name, state: this.state };
    for (const field of FIELDS) plain[field] = this[field];
    plain.cpuUtilization = this.cpuUtilization;
    return plain as unknown as ProcessSample;
  }
}

const MEMORY_PERCENT = FIELDS.indexOf('memoryPercent');

for (const [index, field] of FIELDS.entries()) {
  const optional = index === MEMORY_PERCENT;
  Object.defineProperty(ColumnSample.prototype, field, {
    enumerable: true,
    configurable: false,
    get(this: ColumnSample): number | undefined {
      const value = (store.columns[index] as Float64Array)[this.slot] as number;
      return optional && Number.isNaN(value) ? undefined : value;
    },
    set(this: ColumnSample, value: number | undefined) {
      (store.columns[index] as Float64Array)[this.slot] = value === undefined ? UNDEFINED : value;
    },
  });
}
