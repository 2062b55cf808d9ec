/**
 * The flags of `capture`: defaults, and every refusal naming the flag, the value and the limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { parseCaptureArgs } from '../../src/cli/capture-args.ts';

test('defaults: ten minutes, a reading every 5 s, to standard output, nothing filtered', () => {
  const args = parseCaptureArgs([]);
  assert.equal(args.durationMs, 600_000);
  assert.equal(args.intervalMs, 5000);
  assert.equal(args.out, undefined);
  assert.deepEqual(args.filter, { names: [], exclude: [], users: [], cgroups: [] });
  assert.equal(args.top, undefined);
  const full = parseCaptureArgs([
    '--for',
    '10m',
    '--interval',
    '2s',
    '--name',
    'pg*',
    '--name',
    'nginx',
    '--user',
    'www',
    '--cgroup',
    '/system.slice',
    '--exclude',
    'pg_dump',
    '--top',
    '5',
    '--by',
    'cpu',
    '--scale',
    '0.1',
    '--anonymise',
    '--salt',
    's',
    '-o',
    'h.yaml',
    '--keep-samples',
    '--force',
    '--profile-name',
    'db-node',
  ]);
  assert.deepEqual(full.filter, {
    names: ['pg*', 'nginx'],
    exclude: ['pg_dump'],
    users: ['www'],
    cgroups: ['/system.slice'],
  });
  assert.deepEqual(
    [full.durationMs, full.intervalMs, full.top, full.scale],
    [600_000, 2000, { n: 5, by: 'cpu' }, 0.1],
  );
  assert.deepEqual(
    [full.anonymise, full.salt, full.out, full.keepSamples, full.force, full.profileName],
    [true, 's', 'h.yaml', true, true, 'db-node'],
  );
  assert.equal(parseCaptureArgs(['--name-map', 'm.yaml']).anonymise, true, 'a name map anonymises the rest');
});

test('every bad value is refused naming the flag, the value and the limit', () => {
  const refusals: Array<[string[], RegExp]> = [
    [['--interval', '50ms'], /--interval: expected at least 100ms \(got "50ms"\)/],
    [['--interval', 'soon'], /--interval: expected a duration like/],
    [['--for', '2d'], /--for: expected a duration > 0 and at most 24h/],
    [['--for', '0s'], /--for: expected a duration > 0/],
    [['--for', '1h', '--interval', '100ms'], /--for: 36001 readings at --interval 100ms; at most 10000/],
    [['--for', '5s', '--interval', '10s'], /--interval: expected at most --for \(5s\)/],
    [['--scale', '0'], /--scale: expected a number > 0 and at most 100 \(got "0"\)/],
    [['--scale', '1e3'], /--scale: expected a number/],
    [['--top', '1001'], /--top: expected an integer from 1 to 1000/],
    [['--top', '3', '--by', 'disk'], /--by: expected cpu or memory \(got "disk"\)/],
    [['--profile-name', 'My Host'], /--profile-name: lower-case letters, digits and -/],
    [['--name', 'x'.repeat(65)], /--name: a name pattern of 1 to 64 characters/],
  ];
  for (const [argv, message] of refusals) {
    assert.throws(
      () => parseCaptureArgs(argv),
      (error: Error) => error.name === 'ValidationError' && message.test(error.message),
      argv.join(' '),
    );
  }
});

test('combinations that make no sense are usage errors', () => {
  const usage: Array<[string[], RegExp]> = [
    [['--keep-samples'], /--keep-samples needs --out FILE/],
    [['--by', 'cpu'], /--by goes with --top N/],
    [['--salt', 'x'], /--salt goes with --anonymise or --name-map/],
    [['--from-samples', 'x.json', '--name', 'y'], /--name applies only while recording/],
    [['--from-samples', 'x.json', '--for', '1m'], /--for applies only while recording/],
    [['--colour'], /Unknown option '--colour'/],
    [['now'], /unexpected argument "now"/],
  ];
  for (const [argv, message] of usage) {
    assert.throws(
      () => parseCaptureArgs(argv),
      (error: Error) => error instanceof UsageError && message.test(error.message),
      argv.join(' '),
    );
  }
});
