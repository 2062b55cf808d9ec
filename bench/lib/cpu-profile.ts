/**
 * Attribution of a V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) to the parts of the engine:
 * each sample's self time goes to the part of the leaf-most frame on its stack that belongs to a part,
 * counting only the samples inside a time window. Pure: no I/O, so it can be tested on a small profile.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber?: number;
  columnNumber?: number;
  scriptId?: string | number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  parent?: number;
  hitCount?: number;
}

/** The .cpuprofile JSON: times in microseconds of the V8 monotonic clock (CLOCK_MONOTONIC on Linux). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const PARTS = [
  'sampling (/proc reads)',
  '/metrics',
  'OTLP export',
  'control loop and patterns',
  'API',
  'GC',
  '(program): native code outside JavaScript',
  'other',
] as const;
export type Part = (typeof PARTS)[number];

/**
 * The part one frame decides, or undefined when the frame does not decide (Node's own code, a
 * package of no part, a project file of no part): the walk then goes on to the caller.
 * `shared` marks the frames that build the process metrics for both readers (the producer, the SDK's
 * collection): they decide only when no caller above them is a part, and then count as OTLP export.
 */
export function partOfFrame(frame: CallFrame): { part: Part; shared?: boolean } | undefined {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return { part: 'GC' };
    if (functionName === '(program)') return { part: '(program): native code outside JavaScript' };
    return undefined;
  }
  const inSrc = (path: string) => url.includes(`/src/${path}`);
  const inPackage = (name: string) => url.includes(`/node_modules/${name}`);
  if (inSrc('sampler/') || inSrc('proc/')) return { part: 'sampling (/proc reads)' };
  if (inSrc('telemetry/prometheus') || inPackage('@opentelemetry/exporter-prometheus/'))
    return { part: '/metrics' };
  if (
    inSrc('telemetry/otlp') ||
    inSrc('telemetry/sample-driven-reader') ||
    inSrc('telemetry/split-export') ||
    inPackage('@opentelemetry/otlp-') ||
    inPackage('@opentelemetry/exporter-metrics-otlp-grpc/') ||
    inPackage('@grpc/')
  )
    return { part: 'OTLP export' };
  if (
    inSrc('telemetry/process-producer') ||
    inSrc('telemetry/process-metrics') ||
    inPackage('@opentelemetry/sdk-metrics/')
  )
    return { part: 'OTLP export', shared: true };
  if (inSrc('engine/') || inSrc('profiles/patterns')) return { part: 'control loop and patterns' };
  if (inSrc('api/') || inPackage('hono/') || inPackage('@hono/')) return { part: 'API' };
  return undefined;
}

export interface Attribution {
  /** microseconds of samples per part inside the window */
  us: Record<Part, number>;
  /** microseconds of (idle) samples inside the window: the event loop waiting, no CPU */
  idleUs: number;
  /** samples inside the window */
  samples: number;
  /** µs of the "other" samples by their leaf frame (`function url:line`), to see what "other" holds */
  otherByLeaf: Map<string, number>;
  /** the first and last sample time of the whole profile (µs, profile clock) */
  firstSampleUs: number;
  lastSampleUs: number;
}

/**
 * Self time per part of the samples whose time lies in [fromUs, toUs) (profile clock, µs). A sample
 * lasts until the next one (the last one until endTime), as DevTools counts it.
 */
export function attributeProfile(profile: CpuProfile, fromUs: number, toUs: number): Attribution {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    if (node.parent !== undefined) parentOf.set(node.id, node.parent);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const cache = new Map<number, Part | 'idle'>();
  const partOfNode = (id: number): Part | 'idle' => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    let part: Part | 'idle' | undefined;
    let fallback: Part | undefined;
    const leaf = byId.get(id);
    if (leaf?.callFrame.url === '' && leaf.callFrame.functionName === '(idle)') part = 'idle';
    for (let at: number | undefined = id; part === undefined && at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame;
      const decided = frame ? partOfFrame(frame) : undefined;
      if (decided?.shared) fallback ??= decided.part;
      else if (decided) part = decided.part;
    }
    const result = part ?? fallback ?? 'other';
    cache.set(id, result);
    return result;
  };
  const us = Object.fromEntries(PARTS.map((part) => [part, 0])) as Record<Part, number>;
  let idleUs = 0;
  let samples = 0;
  const otherByLeaf = new Map<string, number>();
  const times: number[] = [];
  let time = profile.startTime;
  for (const delta of profile.timeDeltas) {
    time += delta;
    times.push(time);
  }
  for (let i = 0; i < profile.samples.length; i++) {
    const at = times[i] as number;
    if (at < fromUs || at >= toUs) continue;
    const next = i + 1 < times.length ? (times[i + 1] as number) : profile.endTime;
    const duration = Math.max(0, Math.min(next, toUs) - at);
    const part = partOfNode(profile.samples[i] as number);
    samples++;
    if (part === 'idle') idleUs += duration;
    else us[part] += duration;
    if (part === 'other') {
      const frame = byId.get(profile.samples[i] as number)?.callFrame;
      const where = frame
        ? `${frame.functionName || '(anonymous)'} ${frame.url}:${(frame.lineNumber ?? -1) + 1}`
        : '?';
      otherByLeaf.set(where, (otherByLeaf.get(where) ?? 0) + duration);
    }
  }
  return {
    us,
    idleUs,
    samples,
    otherByLeaf,
    firstSampleUs: times[0] ?? profile.startTime,
    lastSampleUs: times[times.length - 1] ?? profile.startTime,
  };
}
