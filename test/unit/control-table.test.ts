import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ControlTable, SLOT_BYTES } from '../../src/workload/control-table.ts';

const dir = mkdtempSync(join(tmpdir(), 'psim-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNumber = 0;
function newTable(capacity: number): ControlTable {
  fileNumber += 1;
  return ControlTable.create(join(dir, `table-${fileNumber}`), capacity);
}

const targets = { cpuPermille: 300, rssKiB: 20_480, threads: 5, fds: 10 };

describe('ControlTable', () => {
  it('creates a zero-filled file of capacity * 32 bytes', () => {
    const table = newTable(100);
    assert.equal(statSync(table.path).size, 100 * SLOT_BYTES);
    assert.ok(readFileSync(table.path).every((byte) => byte === 0));
    table.close();
  });

  it('truncates an existing file when created again at the same path', () => {
    const first = newTable(4);
    first.write(first.allocate(), targets);
    const again = ControlTable.create(first.path, 2);
    assert.equal(statSync(again.path).size, 2 * SLOT_BYTES);
    assert.ok(readFileSync(again.path).every((byte) => byte === 0));
    again.close();
    first.close();
  });

  it('hands out every slot once, lowest first, then throws a clear error when full', () => {
    const table = newTable(3);
    assert.deepEqual([table.allocate(), table.allocate(), table.allocate()], [0, 1, 2]);
    assert.throws(() => table.allocate(), /full: all 3 slots in use/);
    table.close();
  });

  it('reuses a released slot', () => {
    const table = newTable(2);
    table.allocate();
    const second = table.allocate();
    table.release(second);
    assert.equal(table.allocate(), second);
    table.close();
  });

  it('writes the targets little-endian at offset slot * 32 and bumps the generation on every write', () => {
    const table = newTable(4);
    table.allocate();
    const slot = table.allocate();
    table.write(slot, targets);
    assert.deepEqual(table.read(slot), { generation: 1, ...targets });
    table.write(slot, { ...targets, cpuPermille: 1000 });
    assert.equal(table.read(slot).generation, 2);

    const raw = readFileSync(table.path).subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
    const words = Array.from({ length: 8 }, (_, i) => raw.readUInt32LE(i * 4));
    assert.deepEqual(words, [2, 1000, 20_480, 5, 10, 0, 0, 0]);
    assert.equal(table.read(0).generation, 0, 'a neighbouring slot stays untouched');
    table.close();
  });

  it('zeroes a slot when it is released', () => {
    const table = newTable(1);
    const slot = table.allocate();
    table.write(slot, targets);
    table.release(slot);
    assert.deepEqual(table.read(slot), { generation: 0, cpuPermille: 0, rssKiB: 0, threads: 0, fds: 0 });
    table.close();
  });

  it('rejects out-of-range targets with the field and the value', () => {
    const table = newTable(1);
    const slot = table.allocate();
    assert.throws(() => table.write(slot, { ...targets, cpuPermille: 1200 }), {
      name: 'RangeError',
      message: 'cpuPermille must be an integer 0..1000, got 1200',
    });
    assert.throws(() => table.write(slot, { ...targets, cpuPermille: 2.5 }), /cpuPermille .* got 2.5/);
    assert.throws(
      () => table.write(slot, { ...targets, rssKiB: -1 }),
      /rssKiB must be an integer 0\.\.\d+, got -1/,
    );
    assert.throws(() => table.write(slot, { ...targets, rssKiB: 2 ** 32 }), /rssKiB .* got 4294967296/);
    assert.throws(
      () => table.write(slot, { ...targets, threads: 0 }),
      /threads must be an integer 1\.\.\d+, got 0/,
    );
    assert.throws(() => table.write(slot, { ...targets, fds: 2 }), /fds must be an integer 3\.\.\d+, got 2/);
    assert.throws(
      () => table.write(slot, { ...targets, fds: '10' as unknown as number }),
      /fds must be an integer .* got "10" \(string\)/,
    );
    assert.equal(table.read(slot).generation, 0, 'a rejected write leaves the slot as it was');
    table.close();
  });

  it('rejects slots outside the table or not allocated', () => {
    const table = newTable(2);
    assert.throws(() => table.write(0, targets), /slot 0 of .* is not allocated/);
    assert.throws(() => table.release(1), /slot 1 of .* is not allocated/);
    assert.throws(() => table.read(2), /slot must be an integer 0\.\.1, got 2/);
    assert.throws(() => table.read(-1), /slot must be an integer 0\.\.1, got -1/);
    const slot = table.allocate();
    table.release(slot);
    assert.throws(() => table.release(slot), /is not allocated/, 'a double release is refused');
    table.close();
  });

  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(
      () => ControlTable.create(join(dir, 'bad'), 0),
      /capacity must be an integer 1\.\.\d+, got 0/,
    );
    assert.throws(() => ControlTable.create(join(dir, 'bad'), 1.5), /capacity .* got 1.5/);
    assert.equal(existsSync(join(dir, 'bad')), false);
  });

  it('unlinks the file on close, and close twice is harmless', () => {
    const table = newTable(1);
    table.close();
    assert.equal(existsSync(table.path), false);
    table.close();
    assert.throws(() => table.read(0), /is closed/);
  });
});
