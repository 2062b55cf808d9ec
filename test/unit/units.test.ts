import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration, parseRate, parseSize } from '../../src/profiles/units.ts';

test('parses durations in the forms users write', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('2'), 2000);
  assert.equal(parseDuration(1.5), 1500);
});

test('refuses a bad duration naming the text', () => {
  assert.throws(() => parseDuration('ten minutes'), /got "ten minutes"/);
  assert.throws(() => parseDuration('-5s'), /got "-5s"/);
  assert.throws(() => parseDuration(-1), /got -1/);
  assert.throws(() => parseDuration('5s garbage'), /got "5s garbage"/);
});

test('formats durations back', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(500), '500ms');
});

test('parses sizes and rates', () => {
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('10MiB'), 10 * 1024 * 1024);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseRate('60MB/min'), 1_000_000);
  assert.equal(parseRate('1MiB/s'), 1024 * 1024);
  assert.throws(() => parseSize('lots'), /got "lots"/);
  assert.throws(() => parseRate('10MB'), /got "10MB"/);
});
