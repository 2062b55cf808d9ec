/**
 * Pure parsers of the /proc files the sampler reads. They take the file's text (or bytes) and return numbers
 * in the file's own units (ticks, pages); the reader converts them. Each throws an Error naming the file kind
 * when the text is not what the kernel writes.
 */
import { intAt, type LineKey, lineKeys, lineValueOffset, skipBlanks } from './scan.ts';

/** The fields of /proc/PID/stat the sampler uses, in the kernel's units. */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  minflt: number;
  majflt: number;
  utimeTicks: number;
  stimeTicks: number;
  numThreads: number;
  starttimeTicks: number;
  vsizeBytes: number;
  rssPages: number;
  blkioTicks: number;
}

/** 1-based field numbers of /proc/PID/stat (proc(5)), the ones read here. */
const STAT_FIELDS = {
  ppid: 4,
  pgrp: 5,
  minflt: 10,
  majflt: 12,
  utime: 14,
  stime: 15,
  num_threads: 20,
  starttime: 22,
  vsize: 23,
  rss: 24,
  delayacct_blkio_ticks: 42,
} as const;
const LAST_STAT_FIELD = STAT_FIELDS.delayacct_blkio_ticks;
const STAT_FIELD_ENTRIES = Object.entries(STAT_FIELDS);
const WANTED_STAT_FIELD: boolean[] = [];
for (const [, n] of STAT_FIELD_ENTRIES) WANTED_STAT_FIELD[n] = true;
// Reused across calls: parsing is synchronous, and this runs for every process on every tick.
const statValues = new Float64Array(LAST_STAT_FIELD + 1);

/**
 * Parses /proc/PID/stat. The comm is parsed up to the LAST ')' because a process may name itself
 * `my (weird) proc` or put spaces and newlines in its name.
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const pid = intAt(text, 0);
  if (open < 2 || close < open || text.charCodeAt(close + 1) !== 32 || Number.isNaN(pid)) {
    throw new Error(`Malformed /proc/PID/stat: expected "PID (comm) state ...", got ${preview(text)}`);
  }
  let field = 3;
  let at = close + 2;
  for (; field < LAST_STAT_FIELD; field++) {
    if (WANTED_STAT_FIELD[field]) statValues[field] = intAt(text, at);
    const space = text.indexOf(' ', at);
    if (space < 0) break;
    at = space + 1;
  }
  if (field < LAST_STAT_FIELD) {
    throw new Error(`Malformed /proc/PID/stat: ${field} fields, expected at least ${LAST_STAT_FIELD}`);
  }
  statValues[LAST_STAT_FIELD] = intAt(text, at);
  for (const [name, n] of STAT_FIELD_ENTRIES) {
    if (Number.isNaN(statValues[n])) {
      throw new Error(`Malformed /proc/PID/stat: field ${n} (${name}) is not an integer in ${preview(text)}`);
    }
  }
  const v = statValues;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: text.charAt(close + 2),
    ppid: v[STAT_FIELDS.ppid] as number,
    pgrp: v[STAT_FIELDS.pgrp] as number,
    minflt: v[STAT_FIELDS.minflt] as number,
    majflt: v[STAT_FIELDS.majflt] as number,
    utimeTicks: v[STAT_FIELDS.utime] as number,
    stimeTicks: v[STAT_FIELDS.stime] as number,
    numThreads: v[STAT_FIELDS.num_threads] as number,
    starttimeTicks: v[STAT_FIELDS.starttime] as number,
    vsizeBytes: v[STAT_FIELDS.vsize] as number,
    rssPages: v[STAT_FIELDS.rss] as number,
    blkioTicks: v[LAST_STAT_FIELD] as number,
  };
}

/** Parses /proc/PID/statm: total program size and resident set, in pages. */
export function parseStatm(text: string): { sizePages: number; residentPages: number } {
  const sizePages = intAt(text, 0);
  const space = text.indexOf(' ');
  const residentPages = space < 0 ? Number.NaN : intAt(text, space + 1);
  if (Number.isNaN(sizePages) || Number.isNaN(residentPages)) {
    throw new Error(`Malformed /proc/PID/statm: expected "size resident ...", got ${preview(text)}`);
  }
  return { sizePages, residentPages };
}

// In the order the kernel writes them, so each search starts where the previous one ended.
const STATUS_KEYS = lineKeys('Uid:', 'Threads:', 'voluntary_ctxt_switches:', 'nonvoluntary_ctxt_switches:');
const CTXT_KEYS = lineKeys('voluntary_ctxt_switches:', 'nonvoluntary_ctxt_switches:');
const IO_KEYS = lineKeys('rchar:', 'wchar:', 'syscr:', 'syscw:', 'read_bytes:', 'write_bytes:');
const BTIME_KEYS = lineKeys('btime');
const MEMTOTAL_KEYS = lineKeys('MemTotal:');
const [NAME_KEY] = lineKeys('Name:\t');
const [SHDPND_KEY] = lineKeys('ShdPnd:');

/**
 * Parses /proc/PID/status: the name (unescaped), thread count, real uid, context switches, and the
 * signals pending for the whole process (`ShdPnd`, 0 when the line is absent, as the collector leaves it).
 */
export function parseStatus(text: string): {
  name: string;
  threads: number;
  uid: number;
  voluntaryCtxtSwitches: number;
  nonvoluntaryCtxtSwitches: number;
  signalsPending: number;
} {
  const name = statusName(text);
  // The first Uid column is the real uid, the one ps and the collector call the owner.
  const [uid, threads, voluntary, nonvoluntary] = keyedInts(text, STATUS_KEYS, 'status');
  return {
    name,
    threads,
    uid,
    voluntaryCtxtSwitches: voluntary,
    nonvoluntaryCtxtSwitches: nonvoluntary,
    signalsPending: pendingMask(text),
  };
}

/**
 * The context switches of one status file (a thread's, /proc/PID/task/TID/status): the two lines alone,
 * for summing over the threads of a process.
 */
export function parseContextSwitches(text: string): { voluntary: number; nonvoluntary: number } {
  const [voluntary, nonvoluntary] = keyedInts(text, CTXT_KEYS, 'status');
  return { voluntary, nonvoluntary };
}

/**
 * Parses /proc/PID/io. rchar/wchar count the bytes of every read()/write(), cached or not; syscr/syscw
 * count those calls; *_bytes hit storage.
 */
export function parseIo(text: string): {
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
  readBytes: number;
  writeBytes: number;
} {
  const [rchar, wchar, syscr, syscw, readBytes, writeBytes] = keyedInts(text, IO_KEYS, 'io');
  return { rchar, wchar, syscr, syscw, readBytes, writeBytes };
}

/**
 * The `ShdPnd` mask of a status file read as one integer, the way the collector reports
 * process.signals_pending: signal N pending sets bit N-1 (SIGUSR1 and SIGUSR2 give 0xa00 = 2560), and
 * the 64-bit mask is taken as a signed int64 (gopsutil process_linux.go 995-1003 parses it base 16; the
 * scraper records int64(Used), process_scraper.go 494-504). Exact while only signals 1-53 are pending;
 * the real-time signals above 53 give an int64 that a JavaScript number rounds.
 */
function pendingMask(text: string): number {
  const at = lineValueOffset(text, SHDPND_KEY);
  if (at < 0) return 0;
  const start = skipBlanks(text, at);
  let end = start;
  let value = 0;
  for (let digit = hexDigit(text.charCodeAt(end)); digit >= 0; digit = hexDigit(text.charCodeAt(++end))) {
    value = value * 16 + digit;
  }
  if (end === start)
    throw new Error(`Malformed /proc status: "ShdPnd:" is not hexadecimal in ${preview(text)}`);
  return value < 2 ** 53 ? value : Number(BigInt.asIntN(64, BigInt(`0x${text.slice(start, end)}`)));
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** MemTotal of /proc/meminfo, in bytes (the file says kB, meaning KiB). */
export function parseMemTotal(meminfo: string): number {
  const [kib] = keyedInts(meminfo, MEMTOTAL_KEYS, 'meminfo');
  return kib * 1024;
}

/**
 * The logical CPUs as the collector counts them for process.cpu.utilization (gopsutil
 * cpu_linux.go 386-415, `cpu.Counts(true)`): the `processor : N` lines of /proc/cpuinfo, or when there
 * are none the `cpuN` lines of /proc/stat. Neither CPU affinity nor a cgroup quota changes it.
 */
export function parseLogicalCpus(cpuinfo: string, procStat: string): number {
  let count = 0;
  for (const line of cpuinfo.split('\n')) {
    const lower = line.toLowerCase();
    if (!lower.startsWith('processor')) continue;
    const value = lower.slice(lower.indexOf(':') + 1).trim();
    if (/^[+-]?\d+$/.test(value)) count++;
  }
  if (count > 0) return count;
  for (const line of procStat.split('\n')) if (/^cpu\d/.test(line)) count++;
  return count;
}

/**
 * Parses /proc/PID/cmdline: arguments separated and ended by NUL. Empty for kernel threads and zombies.
 * Every trailing NUL is dropped, as the collector does, because a process that rewrites its title pads
 * the old argument area with NULs.
 */
export function parseCmdline(buf: Buffer): string[] {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  const args: string[] = [];
  if (end === 0) return args;
  let start = 0;
  for (let nul = buf.indexOf(0, start); nul >= 0 && nul < end; nul = buf.indexOf(0, start)) {
    args.push(buf.toString('utf8', start, nul));
    start = nul + 1;
  }
  args.push(buf.toString('utf8', start, end));
  return args;
}

/** Boot time, in seconds since the epoch, from the `btime` line of /proc/stat. */
export function parseBootTime(procStat: string): number {
  const [btime] = keyedInts(procStat, BTIME_KEYS, 'stat');
  return btime;
}

const AT_NULL = 0;
const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

/**
 * Clock ticks per second and page size from an auxiliary vector (/proc/self/auxv): the values the C library
 * returns for sysconf(_SC_CLK_TCK) and sysconf(_SC_PAGESIZE). Entries are (type, value) pairs of 64-bit
 * little-endian words, as on x86-64 and arm64.
 */
export function parseAuxv(buf: Buffer): { clockTicks: number; pageSize: number } {
  let clockTicks = 0;
  let pageSize = 0;
  for (let at = 0; at + 16 <= buf.length; at += 16) {
    const type = word(buf, at);
    if (type === AT_NULL) break;
    if (type === AT_CLKTCK) clockTicks = word(buf, at + 8);
    else if (type === AT_PAGESZ) pageSize = word(buf, at + 8);
  }
  if (clockTicks <= 0 || pageSize <= 0) {
    throw new Error(
      `Malformed auxv (${buf.length} bytes): AT_CLKTCK=${clockTicks}, AT_PAGESZ=${pageSize}, expected both > 0`,
    );
  }
  return { clockTicks, pageSize };
}

/** A 64-bit little-endian word as a number; the values read here are small, so precision is not at stake. */
function word(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 2 ** 32;
}

/** Parses /etc/passwd into uid -> user name. The first entry of a uid wins, as with getpwuid(3). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.indexOf(':');
    const uidStart = line.indexOf(':', nameEnd + 1) + 1;
    if (nameEnd <= 0 || uidStart === 0) continue;
    const uid = Number.parseInt(line.slice(uidStart, line.indexOf(':', uidStart)), 10);
    if (Number.isInteger(uid) && uid >= 0 && !users.has(uid)) users.set(uid, line.slice(0, nameEnd));
  }
  return users;
}

/** The integers after `keys` at line starts, found in order; throws naming the file kind and the key. */
function keyedInts<const K extends readonly LineKey[]>(
  text: string,
  keys: K,
  fileKind: string,
): { [I in keyof K]: number } {
  const values: number[] = [];
  let from = 0;
  for (const key of keys) {
    const at = lineValueOffset(text, key, from);
    const value = at < 0 ? Number.NaN : intAt(text, skipBlanks(text, at));
    if (Number.isNaN(value)) {
      throw new Error(`Malformed /proc ${fileKind}: no integer "${key.key}" line in ${preview(text)}`);
    }
    values.push(value);
    from = at;
  }
  return values as { [I in keyof K]: number };
}

/**
 * The Name: line of status. The kernel writes it as `Name:\t` then the name with only `\` and newline
 * escaped (tabs, spaces and ')' stay raw), so everything up to the line end is the name.
 */
function statusName(text: string): string {
  const at = lineValueOffset(text, NAME_KEY);
  if (at < 0) throw new Error(`Malformed /proc status: no "Name:" line in ${preview(text)}`);
  const end = text.indexOf('\n', at);
  const escaped = text.slice(at, end < 0 ? text.length : end);
  return escaped.includes('\\') ? unescapeName(escaped) : escaped;
}

function unescapeName(escaped: string): string {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i];
    const next = escaped[i + 1];
    if (c === '\\' && next === 'n') {
      out += '\n';
      i++;
    } else if (c === '\\' && next === '\\') {
      out += '\\';
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/** The start of a file's text, quoted, for error messages. */
function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}
