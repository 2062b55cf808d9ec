import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  parseAuxv,
  parseBootTime,
  parseCmdline,
  parseContextSwitches,
  parseIo,
  parseLogicalCpus,
  parseMemTotal,
  parsePasswd,
  parseStat,
  parseStatm,
  parseStatus,
} from '../../src/proc/parse.ts';

const fixtures = new URL('../fixtures/proc/', import.meta.url);
const text = (path: string) => readFileSync(new URL(path, fixtures), 'utf8');
const bytes = (path: string) => readFileSync(new URL(path, fixtures));

/** The stat text with one field (1-based, as in proc(5)) replaced. */
function withStatField(stat: string, field: number, value: string): string {
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  fields[field - 3] = value;
  return `${stat.slice(0, close + 2)}${fields.join(' ')}`;
}

describe('parseStat', () => {
  it('reads every field the sampler needs from a live sleep', () => {
    assert.deepEqual(parseStat(text('live-sleep/stat')), {
      pid: 15746,
      comm: 'sleep',
      state: 'S',
      ppid: 15744,
      pgrp: 15739,
      minflt: 117,
      majflt: 0,
      utimeTicks: 0,
      stimeTicks: 0,
      numThreads: 1,
      starttimeTicks: 42033,
      vsizeBytes: 2990080,
      rssPages: 423,
      blkioTicks: 0,
    });
  });

  it('reads CPU ticks, faults and threads of a busier process', () => {
    const stat = parseStat(text('node-idle/stat'));
    assert.equal(stat.comm, 'MainThread');
    assert.equal(stat.utimeTicks, 2);
    assert.equal(stat.minflt, 2774);
    assert.equal(stat.numThreads, 7);
    assert.equal(stat.vsizeBytes, 1305776128);
  });

  it('keeps spaces and parentheses of the comm and parses after the last ")"', () => {
    const stat = parseStat(text('weird-comm/stat'));
    assert.equal(stat.comm, 'my (weird) proc');
    assert.equal(stat.state, 'S');
    assert.equal(stat.ppid, 15744);
    assert.equal(stat.majflt, 2);
    assert.equal(stat.utimeTicks, 3);
    assert.equal(stat.stimeTicks, 2);
  });

  it('keeps a comm with a newline, a tab, a backslash and ") " raw', () => {
    const stat = parseStat(text('escaped-name/stat'));
    assert.equal(stat.comm, 'a\\b\nc\td) x ');
    assert.equal(stat.pid, 15846);
    assert.equal(stat.starttimeTicks, 42118);
  });

  it('reports a zombie with state Z', () => {
    const stat = parseStat(text('zombie/stat'));
    assert.equal(stat.state, 'Z');
    assert.equal(stat.vsizeBytes, 0);
  });

  it('reads a kernel thread, whose parent is 0', () => {
    const stat = parseStat(text('kthread/stat'));
    assert.equal(stat.comm, 'kthreadd');
    assert.equal(stat.ppid, 0);
  });

  it('reads delayacct_blkio_ticks from field 42', () => {
    assert.equal(parseStat(withStatField(text('live-sleep/stat'), 42, '37')).blkioTicks, 37);
  });

  it('throws naming stat when the text is not a stat line', () => {
    assert.throws(() => parseStat(''), /Malformed \/proc\/PID\/stat/);
    assert.throws(() => parseStat('12 sleep S 1'), /Malformed \/proc\/PID\/stat/);
    assert.throws(() => parseStat('12 (sleep) S 1 2 3\n'), /stat: 6 fields, expected at least 42/);
    const bad = withStatField(text('live-sleep/stat'), 14, 'x');
    assert.throws(() => parseStat(bad), /stat: field 14 \(utime\) is not an integer/);
  });
});

describe('parseStatm', () => {
  it('reads size and resident pages', () => {
    assert.deepEqual(parseStatm(text('live-sleep/statm')), { sizePages: 730, residentPages: 451 });
    assert.deepEqual(parseStatm(text('zombie/statm')), { sizePages: 0, residentPages: 0 });
  });

  it('throws naming statm when the text is malformed', () => {
    assert.throws(() => parseStatm(''), /Malformed \/proc\/PID\/statm/);
    assert.throws(() => parseStatm('730'), /Malformed \/proc\/PID\/statm/);
  });
});

describe('parseStatus', () => {
  it('reads name, threads, real uid and context switches', () => {
    assert.deepEqual(parseStatus(text('node-idle/status')), {
      name: 'MainThread',
      threads: 7,
      uid: 0,
      voluntaryCtxtSwitches: 5,
      nonvoluntaryCtxtSwitches: 6,
      signalsPending: 0,
    });
  });

  it('unescapes the backslash and newline the kernel escapes, keeps tab and trailing space', () => {
    assert.equal(parseStatus(text('escaped-name/status')).name, 'a\\b\nc\td) x ');
    assert.equal(parseStatus(text('weird-comm/status')).name, 'my (weird) proc');
  });

  it('reads the real uid, the first of the four', () => {
    const status =
      'Name:\tw\nUid:\t1000\t0\t0\t0\nThreads:\t1\n' +
      'voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t2\n';
    assert.equal(parseStatus(status).uid, 1000);
  });

  it("finds the lines in any order, not only the kernel's", () => {
    const status =
      'nonvoluntary_ctxt_switches:\t2\nName:\tw\nvoluntary_ctxt_switches:\t1\nThreads:\t3\n' +
      'Uid:\t7\t0\t0\t0\n';
    assert.deepEqual(parseStatus(status), {
      name: 'w',
      threads: 3,
      uid: 7,
      voluntaryCtxtSwitches: 1,
      nonvoluntaryCtxtSwitches: 2,
      signalsPending: 0,
    });
  });

  it('reads ShdPnd as the collector does: the hex mask as one integer, signed 64-bit', () => {
    const withShdPnd = (mask: string) =>
      text('live-sleep/status').replace('ShdPnd:\t0000000000000000', `ShdPnd:\t${mask}`);
    // SIGUSR1 (10) and SIGUSR2 (12): bits 9 and 11, 2560, what the collector reported for them
    assert.equal(parseStatus(withShdPnd('0000000000000a00')).signalsPending, 2560);
    assert.equal(parseStatus(withShdPnd('0000000000000001')).signalsPending, 1);
    // SigPnd (thread-directed) is not ShdPnd
    const threadOnly = text('live-sleep/status').replace(
      'SigPnd:\t0000000000000000',
      'SigPnd:\t0000000000000800',
    );
    assert.equal(parseStatus(threadOnly).signalsPending, 0);
    // bit 63 (signal 64) makes the int64 negative
    assert.equal(parseStatus(withShdPnd('8000000000000000')).signalsPending, -(2 ** 63));
    assert.throws(() => parseStatus(withShdPnd('zz')), /"ShdPnd:" is not hexadecimal/);
  });

  it('reads any set of signals 1-53 exactly', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 53 }), { maxLength: 53 }), (signals) => {
        const mask = signals.reduce((sum, sig) => sum + 2n ** BigInt(sig - 1), 0n);
        const hex = mask.toString(16).padStart(16, '0');
        const status = text('live-sleep/status').replace('ShdPnd:\t0000000000000000', `ShdPnd:\t${hex}`);
        assert.equal(parseStatus(status).signalsPending, Number(mask));
      }),
    );
  });

  it('reads a zombie and a kernel thread', () => {
    assert.equal(parseStatus(text('zombie/status')).threads, 1);
    assert.equal(parseStatus(text('kthread/status')).voluntaryCtxtSwitches, 62);
  });

  it('throws naming status and the missing line', () => {
    const noThreads = text('live-sleep/status').replace('Threads:', 'Thread:');
    assert.throws(() => parseStatus(noThreads), /Malformed \/proc status: no integer "Threads:" line/);
    assert.throws(() => parseStatus('Uid:\t0\n'), /Malformed \/proc status: no "Name:" line/);
  });
});

describe('parseIo', () => {
  it('reads rchar, wchar and the storage bytes, not cancelled_write_bytes', () => {
    assert.deepEqual(parseIo(text('node-idle/io')), {
      rchar: 30179,
      wchar: 1,
      syscr: 30,
      syscw: 1,
      readBytes: 0,
      writeBytes: 0,
    });
    const io =
      'rchar: 5\nwchar: 6\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\n' +
      'cancelled_write_bytes: 99\n';
    assert.deepEqual(parseIo(io), {
      rchar: 5,
      wchar: 6,
      syscr: 1,
      syscw: 2,
      readBytes: 4096,
      writeBytes: 8192,
    });
  });

  it('throws naming io when a line is missing', () => {
    assert.throws(() => parseIo(''), /Malformed \/proc io: no integer "rchar:" line/);
  });
});

describe('parseContextSwitches', () => {
  it("reads a thread's two lines", () => {
    assert.deepEqual(parseContextSwitches(text('node-idle/status')), { voluntary: 5, nonvoluntary: 6 });
    assert.throws(() => parseContextSwitches('Name:\tx\n'), /no integer "voluntary_ctxt_switches:" line/);
  });
});

describe('parseMemTotal and parseLogicalCpus', () => {
  it('reads MemTotal in bytes', () => {
    assert.equal(parseMemTotal(text('meminfo')), 24683584 * 1024);
    assert.throws(() => parseMemTotal('MemFree: 1 kB\n'), /no integer "MemTotal:" line/);
  });

  it("counts CPUs as the collector does: cpuinfo's processor lines, else stat's cpuN lines", () => {
    assert.equal(parseLogicalCpus(text('cpuinfo'), ''), 2);
    // arm64 writes "processor\t: 0"; the key is compared in lower case, the value must be an integer
    assert.equal(parseLogicalCpus('Processor\t: 0\nprocessor\t: 1\nprocessor: x\nmodel name\t: y\n', ''), 2);
    // no processor lines (some architectures): /proc/stat's cpu0, cpu1 ... but not the "cpu " total
    assert.equal(parseLogicalCpus('', text('proc-stat')), 2);
    assert.equal(parseLogicalCpus('', ''), 0);
  });
});

describe('parseCmdline', () => {
  it('splits NUL-separated arguments and drops the trailing NUL', () => {
    assert.deepEqual(parseCmdline(bytes('live-sleep/cmdline')), ['/bin/sleep', '30']);
  });

  it('returns no arguments for a zombie or a kernel thread', () => {
    assert.deepEqual(parseCmdline(bytes('zombie/cmdline')), []);
    assert.deepEqual(parseCmdline(bytes('kthread/cmdline')), []);
  });

  it('keeps empty arguments inside and drops the NUL padding of a rewritten title', () => {
    assert.deepEqual(parseCmdline(Buffer.from('prog\0\0x\0')), ['prog', '', 'x']);
    assert.deepEqual(parseCmdline(Buffer.from('nginx-worker\0\0\0\0\0\0')), ['nginx-worker']);
    assert.deepEqual(parseCmdline(Buffer.from('nginx: master process')), ['nginx: master process']);
  });

  it('decodes arguments as UTF-8', () => {
    assert.deepEqual(parseCmdline(Buffer.from('café\0→\0')), ['café', '→']);
  });
});

describe('parseBootTime', () => {
  it('reads btime from /proc/stat', () => {
    assert.equal(parseBootTime(text('proc-stat')), 1795931108);
  });

  it('throws naming stat when there is no btime line', () => {
    assert.throws(() => parseBootTime('cpu 1 2 3\n'), /Malformed \/proc stat: no integer "btime" line/);
  });
});

describe('parseAuxv', () => {
  it('reads clock ticks and page size from a real auxiliary vector', () => {
    assert.deepEqual(parseAuxv(bytes('self-auxv')), { clockTicks: 100, pageSize: 4096 });
  });

  it('reads any values, in any order, up to AT_NULL', () => {
    const words = [17n, 250n, 33n, 2n ** 63n, 6n, 16384n, 0n, 0n, 17n, 1n];
    const buf = Buffer.alloc(words.length * 8);
    for (const [i, w] of words.entries()) buf.writeBigUInt64LE(w, i * 8);
    assert.deepEqual(parseAuxv(buf), { clockTicks: 250, pageSize: 16384 });
  });

  it('throws naming auxv when an entry is missing', () => {
    assert.throws(() => parseAuxv(Buffer.alloc(0)), /Malformed auxv \(0 bytes\): AT_CLKTCK=0, AT_PAGESZ=0/);
    assert.throws(() => parseAuxv(bytes('self-auxv').subarray(0, 40)), /Malformed auxv \(40 bytes\)/);
  });
});

describe('parsePasswd', () => {
  it('maps uids to names, first name wins, skipping comments and broken lines', () => {
    const users = parsePasswd(text('passwd'));
    assert.equal(users.get(0), 'root');
    assert.equal(users.get(1000), 'simulator');
    assert.equal(users.get(65534), 'nobody');
    assert.equal(users.size, 4);
  });
});
