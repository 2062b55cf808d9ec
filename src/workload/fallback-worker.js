/**
 * Fallback worker, used when the native worker (worker.c) could not be built. Same environment and
 * control-file protocol; run as `node fallback-worker.js <displayName> [displayArgs...]`.
 *
 * What it can and cannot hold, compared with the native worker:
 * - threads: not controlled. Node itself runs ~7 threads (main, V8 platform workers, libuv), so a
 *   target below that is impossible and the slot's thread count is ignored.
 * - memory: follows targets above Node's own floor (~40 MB RSS) with filled Buffers; shrinking waits for
 *   a garbage collection, which is forced when possible.
 * - fds: exact above Node's own baseline (~22 on Node 24: stdio, epoll, eventfds, pipes, the control
 *   file); a lower target holds the baseline.
 * - cpu: the same 100 ms duty cycle, measured on the main thread's CPU time.
 * - name: comm is the display name; the display args are not shown in /proc/PID/cmdline.
 * - parent death: Node has no PR_SET_PDEATHSIG, so the worker checks its parent on every 100 ms tick.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const SLOT_BYTES = 32;
const TICK_MS = 100;
const CHUNK_BYTES = 1 << 20;

function fail(message) {
  process.stderr.write(`ps-worker (node): ${message}\n`);
  process.exit(2);
}

function parseIndex(name, max) {
  const text = process.env[name];
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) {
    fail(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

const controlPath = process.env.PSIM_CONTROL_FILE;
if (!controlPath) fail('PSIM_CONTROL_FILE is not set');
const slot = parseIndex('PSIM_SLOT', 0xffff_ffff);
const parentPid = parseIndex('PSIM_PARENT_PID', 0x7fff_ffff);
if (process.ppid !== parentPid) process.exit(1);

/*
 * Node sets comm from the whole title, so the title is the display name alone: the name is what a
 * collector reports, the display args then do not show in the fallback's cmdline.
 */
process.title = process.argv[2] || basename(process.env.PSIM_NAME || 'ps-worker');

let controlFd;
try {
  controlFd = openSync(controlPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  if (fstatSync(controlFd).size < (slot + 1) * SLOT_BYTES)
    fail(`PSIM_SLOT ${slot} is beyond the end of ${controlPath}`);
} catch (error) {
  fail(`cannot open PSIM_CONTROL_FILE ${controlPath}: ${error.message}`);
}

const slotBuf = Buffer.alloc(SLOT_BYTES);
function readSlot() {
  readSync(controlFd, slotBuf, 0, SLOT_BYTES, slot * SLOT_BYTES);
  return {
    cpuPermille: Math.min(slotBuf.readUInt32LE(4), 1000),
    rssKiB: slotBuf.readUInt32LE(8),
    fds: slotBuf.readUInt32LE(16),
  };
}

/* readdir holds one fd of its own while it lists, hence the -1. */
const countFds = () => readdirSync('/proc/self/fd').length - 1;
const heldFds = [];
function setFds(target) {
  // Node opens fds of its own lazily, so its share is counted afresh on every call.
  const want = Math.max(0, target - (countFds() - heldFds.length));
  while (heldFds.length > want) closeSync(heldFds.pop());
  try {
    while (heldFds.length < want) heldFds.push(openSync('/dev/null', 'r'));
  } catch {
    // EMFILE: hold what we have.
  }
}

let forceGc;
try {
  setFlagsFromString('--expose-gc');
  forceGc = runInNewContext('gc');
} catch {
  forceGc = undefined;
}
const ballast = [];
function setRss(targetKiB) {
  const diff = targetKiB * 1024 - process.memoryUsage.rss();
  if (diff > 0) {
    for (let left = diff; left > 0; left -= CHUNK_BYTES) {
      // A non-zero fill makes every page resident.
      ballast.push(Buffer.alloc(Math.min(left, CHUNK_BYTES), 1));
    }
  } else if (ballast.length > 0) {
    let excess = -diff;
    while (ballast.length > 0 && ballast.at(-1).length <= excess) excess -= ballast.pop().length;
    if (excess !== -diff) forceGc?.();
  }
}

function apply(targets) {
  setFds(targets.fds);
  setRss(targets.rssKiB);
}

const threadCpuMicros = () => {
  const usage = process.threadCpuUsage ? process.threadCpuUsage() : process.cpuUsage();
  return usage.user + usage.system;
};

let nextTick = performance.now();
function tick() {
  if (process.ppid !== parentPid) process.exit(1);
  const targets = readSlot();
  apply(targets);
  const tickEnd = nextTick + TICK_MS;
  const until = threadCpuMicros() + (targets.cpuPermille * (TICK_MS * 1000)) / 1000;
  while (threadCpuMicros() < until && performance.now() < tickEnd) {
    for (let i = 0; i < 10_000; i++) Math.sqrt(i);
  }
  const now = performance.now();
  nextTick = now - tickEnd > TICK_MS ? now : tickEnd;
  setTimeout(tick, nextTick - now);
}

process.on('SIGUSR1', () => apply(readSlot()));
tick();
